package model

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayGroup is the API group of the Gateway API kinds.
const gatewayGroup = gatewayv1.GroupName

// listener is a Gateway listener as validated, with what routes need.
type listener struct {
	gateway *gatewayv1.Gateway
	spec    gatewayv1.Listener
	status  *gatewayv1.ListenerStatus
	// accepted: routes may attach (and count in attachedRoutes); ok: the
	// listener is programmed too, its routes are served.
	accepted bool
	ok       bool
	frontend *GatewayFrontend
	id       string
	// selector of allowedRoutes.namespaces.from Selector; nil otherwise.
	selector labels.Selector
	// routes are the routes attached ("ns/name"), counted once each.
	routes map[string]bool
}

func (l *listener) hostname() string { return hostOf(l.spec.Hostname) }

// allows reports whether a route in namespace may attach to l.
func (l *listener) allows(namespace string, nsLabels map[string]string) bool {
	from := gatewayv1.NamespacesFromSame
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSelector:
		return l.selector != nil && l.selector.Matches(labels.Set(nsLabels))
	case gatewayv1.NamespacesFromSame:
		return namespace == l.gateway.Namespace
	}
	return false
}

// gatewayAddress returns the loopback address of a Gateway: 127.x.y.z
// from a hash of its namespace and name, so that it stays the same while
// other Gateways come and go; a collision takes the next free address.
func gatewayAddress(key string, taken map[netip.Addr]bool) netip.Addr {
	h := fnv.New32a()
	h.Write([]byte(key))
	n := h.Sum32()
	for {
		// 127.1.0.0-127.254.255.255 leaves 127.0.0.0/16 to the other
		// loopback users (the Ingress frontends, tests' ports).
		a := byte(1 + (n>>16)%254)
		b, c := byte(n>>8), byte(n)
		if c == 0 || c == 255 {
			c = 1
		}
		addr := netip.AddrFrom4([4]byte{127, a, b, c})
		if !taken[addr] {
			taken[addr] = true
			return addr
		}
		n += 1 << 8
	}
}

// addGatewayListeners validates the listeners of one of our Gateways and
// places the valid ones on frontends.
func (b *builder) addGatewayListeners(gw *gatewayv1.Gateway, address string, st *GatewayObjectStatus) []*listener {
	gen := gw.Generation
	seen := map[int32]gatewayv1.ProtocolType{}
	hostsOnPort := map[string]int{}
	for _, l := range gw.Spec.Listeners {
		if prev, ok := seen[int32(l.Port)]; ok && prev != l.Protocol && supportedProtocol(l.Protocol) && supportedProtocol(prev) {
			seen[int32(l.Port)] = "conflict"
		} else if !ok {
			seen[int32(l.Port)] = l.Protocol
		}
		hostsOnPort[strconv.Itoa(int(l.Port))+"|"+hostOf(l.Hostname)]++
	}
	var out []*listener
	// Allocated once: each listener keeps a pointer to its status.
	st.Listeners = make([]gatewayv1.ListenerStatus, 0, len(gw.Spec.Listeners))
	for i := range gw.Spec.Listeners {
		spec := gw.Spec.Listeners[i]
		ls := gatewayv1.ListenerStatus{Name: spec.Name, SupportedKinds: []gatewayv1.RouteGroupKind{}}
		l := &listener{gateway: gw, spec: spec}
		accepted, acceptReason, acceptMsg := true, string(gatewayv1.ListenerReasonAccepted), "listener accepted"
		conflicted, conflictReason := false, string(gatewayv1.ListenerReasonNoConflicts)
		resolved, resolveReason, resolveMsg := true, string(gatewayv1.ListenerReasonResolvedRefs), "references resolved"
		switch {
		case !supportedProtocol(spec.Protocol):
			accepted, acceptReason = false, string(gatewayv1.ListenerReasonUnsupportedProtocol)
			acceptMsg = fmt.Sprintf("protocol %s is not supported; Bollard serves HTTP and HTTPS listeners", printable(string(spec.Protocol)))
		case spec.Hostname != nil && checkGatewayHost(hostOf(spec.Hostname)) != nil:
			accepted, acceptReason = false, string(gatewayv1.ListenerReasonUnsupportedValue)
			acceptMsg = checkGatewayHost(hostOf(spec.Hostname)).Error()
		case spec.Port < 1 || spec.Port > 65535:
			accepted, acceptReason, acceptMsg = false, string(gatewayv1.ListenerReasonPortUnavailable), "port out of range"
		case address == "" && slices.Contains(b.opts.ReservedPorts, int32(spec.Port)):
			accepted, acceptReason = false, string(gatewayv1.ListenerReasonPortUnavailable)
			acceptMsg = fmt.Sprintf("port %d is taken by HAProxy's stats frontend or the controller", spec.Port)
		case address == "" && b.sharedPortMismatch(spec):
			accepted, acceptReason = false, string(gatewayv1.ListenerReasonPortUnavailable)
			acceptMsg = fmt.Sprintf("port %d is the Ingress %s frontend's; a %s listener cannot share it", spec.Port, b.sharedProtocol(int32(spec.Port)), spec.Protocol)
		case seen[int32(spec.Port)] == "conflict":
			conflicted, conflictReason = true, string(gatewayv1.ListenerReasonProtocolConflict)
		case hostsOnPort[strconv.Itoa(int(spec.Port))+"|"+hostOf(spec.Hostname)] > 1:
			conflicted, conflictReason = true, string(gatewayv1.ListenerReasonHostnameConflict)
		}
		if accepted {
			kinds, bad := routeKinds(spec.AllowedRoutes)
			ls.SupportedKinds = kinds
			if bad != "" {
				resolved, resolveReason, resolveMsg = false, string(gatewayv1.ListenerReasonInvalidRouteKinds), bad
			}
			if sel, err := listenerSelector(spec.AllowedRoutes); err != nil {
				accepted, acceptReason, acceptMsg = false, string(gatewayv1.ListenerReasonUnsupportedValue), err.Error()
			} else {
				l.selector = sel
			}
		}
		var certs []string
		if accepted && spec.Protocol == gatewayv1.HTTPSProtocolType {
			var reason, msg string
			certs, reason, msg = b.listenerCertificates(gw, i, spec)
			if reason != "" && resolved {
				resolved, resolveReason, resolveMsg = false, reason, msg
			}
		}
		if accepted && !conflicted && supportedProtocol(spec.Protocol) {
			if reason := b.claimConflict(address, int32(spec.Port), spec.Protocol == gatewayv1.HTTPSProtocolType, l.hostname(), gw); reason != "" {
				conflicted, conflictReason = true, reason
			}
		}
		programmed := accepted && !conflicted && (resolved || resolveReason == string(gatewayv1.ListenerReasonInvalidRouteKinds) && len(ls.SupportedKinds) > 0)
		if spec.Protocol == gatewayv1.HTTPSProtocolType && len(certs) == 0 {
			programmed = false
		}
		progReason, progMsg := string(gatewayv1.ListenerReasonProgrammed), "listener programmed"
		if !programmed {
			progReason = string(gatewayv1.ListenerReasonInvalid)
			detail := ""
			switch {
			case !accepted:
				progMsg = "listener not programmed: " + acceptMsg
			case conflicted:
				progMsg = "listener not programmed: " + conflictReason + " with another listener on port " + strconv.Itoa(int(spec.Port))
				if !resolved {
					detail = "; " + resolveMsg
				}
			case !resolved:
				progMsg = "listener not programmed: " + resolveMsg
			default:
				progMsg = "listener not programmed"
			}
			b.warn("Gateway", gw.Namespace, gw.Name, fmt.Sprintf("spec.listeners[%d]", i), progMsg+detail)
		}
		ls.Conditions = []metav1.Condition{
			condition(string(gatewayv1.ListenerConditionAccepted), accepted, acceptReason, acceptMsg, gen),
			condition(string(gatewayv1.ListenerConditionConflicted), conflicted, conflictReason, conflictReason, gen),
			condition(string(gatewayv1.ListenerConditionResolvedRefs), resolved, resolveReason, resolveMsg, gen),
			condition(string(gatewayv1.ListenerConditionProgrammed), programmed, progReason, progMsg, gen),
		}
		st.Listeners = append(st.Listeners, ls)
		l.status = &st.Listeners[len(st.Listeners)-1]
		l.accepted = accepted
		if programmed {
			l.ok = true
			l.frontend = b.gatewayFrontend(address, int32(spec.Port), spec.Protocol == gatewayv1.HTTPSProtocolType)
			b.claim(l.frontend.Name, l.hostname(), gw)
			l.id = "l" + strconv.Itoa(len(l.frontend.Listeners))
			l.frontend.Listeners = append(l.frontend.Listeners, GatewayListener{ID: l.id, Hostname: l.hostname()})
			for _, c := range certs {
				l.frontend.Certificates = append(l.frontend.Certificates, GatewayCertificate{FileName: c, SNI: l.hostname()})
			}
		}
		out = append(out, l)
	}
	return out
}

func hostOf(h *gatewayv1.Hostname) string {
	if h == nil {
		return ""
	}
	return strings.ToLower(string(*h))
}

func supportedProtocol(p gatewayv1.ProtocolType) bool {
	return p == gatewayv1.HTTPProtocolType || p == gatewayv1.HTTPSProtocolType
}

// routeKinds returns the route kinds a listener supports of the ones it
// allows, and a message naming the ones Bollard cannot serve.
func routeKinds(ar *gatewayv1.AllowedRoutes) ([]gatewayv1.RouteGroupKind, string) {
	group := gatewayv1.Group(gatewayGroup)
	httpRoute := gatewayv1.RouteGroupKind{Group: &group, Kind: "HTTPRoute"}
	if ar == nil || len(ar.Kinds) == 0 {
		return []gatewayv1.RouteGroupKind{httpRoute}, ""
	}
	kinds := []gatewayv1.RouteGroupKind{}
	var bad []string
	for _, k := range ar.Kinds {
		g := gatewayGroup
		if k.Group != nil {
			g = string(*k.Group)
		}
		if g == gatewayGroup && k.Kind == "HTTPRoute" {
			if len(kinds) == 0 {
				kinds = append(kinds, httpRoute)
			}
			continue
		}
		bad = append(bad, printable(g+"/"+string(k.Kind)))
	}
	if len(bad) > 0 {
		return kinds, "route kinds not supported: " + strings.Join(bad, ", ")
	}
	return kinds, ""
}

func listenerSelector(ar *gatewayv1.AllowedRoutes) (labels.Selector, error) {
	if ar == nil || ar.Namespaces == nil || ar.Namespaces.From == nil || *ar.Namespaces.From != gatewayv1.NamespacesFromSelector {
		return nil, nil
	}
	if ar.Namespaces.Selector == nil {
		return nil, fmt.Errorf("allowedRoutes.namespaces.selector is required with from: Selector")
	}
	sel, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
	if err != nil {
		return nil, fmt.Errorf("allowedRoutes.namespaces.selector: %v", err)
	}
	return sel, nil
}

// listenerCertificates resolves an HTTPS listener's certificateRefs to
// certificate files, or returns the ResolvedRefs reason and message of
// the first that fails.
func (b *builder) listenerCertificates(gw *gatewayv1.Gateway, index int, spec gatewayv1.Listener) ([]string, string, string) {
	if spec.TLS == nil || (spec.TLS.Mode != nil && *spec.TLS.Mode != gatewayv1.TLSModeTerminate) {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), "an HTTPS listener needs tls.mode Terminate and certificateRefs"
	}
	if len(spec.TLS.CertificateRefs) == 0 {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), "tls.certificateRefs is empty"
	}
	var files []string
	reason, msg := "", ""
	fail := func(r, m string) {
		if reason == "" {
			reason, msg = r, m
		}
	}
	for j, ref := range spec.TLS.CertificateRefs {
		field := fmt.Sprintf("spec.listeners[%d].tls.certificateRefs[%d]", index, j)
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			fail(string(gatewayv1.ListenerReasonInvalidCertificateRef), field+": only core Secrets are supported")
			continue
		}
		ns := gw.Namespace
		if ref.Namespace != nil && string(*ref.Namespace) != "" {
			ns = string(*ref.Namespace)
		}
		if ns != gw.Namespace && !b.granted(gw.Namespace, "Gateway", ns, "", "Secret", string(ref.Name)) {
			fail(string(gatewayv1.ListenerReasonRefNotPermitted), field+": no ReferenceGrant in "+printable(ns)+" allows it")
			continue
		}
		if validateNamespace(ns) != nil || validateObjectName(string(ref.Name)) != nil {
			fail(string(gatewayv1.ListenerReasonInvalidCertificateRef), field+": invalid Secret name")
			continue
		}
		res := b.certificate(ns, string(ref.Name))
		if res.problem != "" {
			fail(string(gatewayv1.ListenerReasonInvalidCertificateRef), field+": "+res.problem)
			b.warn("Gateway", gw.Namespace, gw.Name, field, res.problem)
			continue
		}
		b.gateway.certs[res.cert.FileName] = res.cert
		files = append(files, res.cert.FileName)
	}
	return files, reason, msg
}

// granted reports whether a ReferenceGrant in toNamespace lets objects of
// fromKind in fromNamespace refer to the object toGroup/toKind toName.
func (b *builder) granted(fromNamespace, fromKind, toNamespace, toGroup, toKind, toName string) bool {
	for _, g := range b.gateway.grants[toNamespace] {
		from := slices.ContainsFunc(g.Spec.From, func(f gatewayv1.ReferenceGrantFrom) bool {
			return string(f.Group) == gatewayGroup && string(f.Kind) == fromKind && string(f.Namespace) == fromNamespace
		})
		to := slices.ContainsFunc(g.Spec.To, func(t gatewayv1.ReferenceGrantTo) bool {
			return string(t.Group) == toGroup && string(t.Kind) == toKind && (t.Name == nil || string(*t.Name) == toName)
		})
		if from && to {
			return true
		}
	}
	return false
}

// sharedProtocol is the protocol of the Ingress frontend on port, "" for
// none.
func (b *builder) sharedProtocol(port int32) gatewayv1.ProtocolType {
	switch {
	case port == 0:
		return ""
	case port == b.opts.IngressHTTPPort:
		return gatewayv1.HTTPProtocolType
	case port == b.opts.IngressHTTPSPort:
		return gatewayv1.HTTPSProtocolType
	}
	return ""
}

func (b *builder) sharedPortMismatch(spec gatewayv1.Listener) bool {
	shared := b.sharedProtocol(int32(spec.Port))
	return shared != "" && supportedProtocol(spec.Protocol) && shared != spec.Protocol
}

// frontendName names the frontend of an address and port; shared: it is
// an Ingress frontend.
func (b *builder) frontendName(address string, port int32, tls bool) (name string, shared bool) {
	if address == "" && b.sharedProtocol(port) != "" {
		if tls {
			return SharedHTTPSFrontend, true
		}
		return SharedHTTPFrontend, true
	}
	where := address
	if where == "" {
		where = "any"
	}
	return "gw_" + where + "_" + strconv.Itoa(int(port)), false
}

// claimConflict reports why a listener of gw cannot join the frontend of
// its address and port that other Gateways' listeners hold already (on a
// shared address): the other protocol, or the same hostname. The Gateway
// that comes first (by namespace and name) keeps it.
func (b *builder) claimConflict(address string, port int32, tls bool, hostname string, gw *gatewayv1.Gateway) string {
	name, _ := b.frontendName(address, port, tls)
	if f, ok := b.gateway.frontends[name]; ok && f.TLS != tls {
		return string(gatewayv1.ListenerReasonProtocolConflict)
	}
	if other, ok := b.gateway.claims[name][hostname]; ok && other != gw.Namespace+"/"+gw.Name {
		return string(gatewayv1.ListenerReasonHostnameConflict)
	}
	return ""
}

func (b *builder) claim(frontend, hostname string, gw *gatewayv1.Gateway) {
	if b.gateway.claims[frontend] == nil {
		b.gateway.claims[frontend] = map[string]string{}
	}
	b.gateway.claims[frontend][hostname] = gw.Namespace + "/" + gw.Name
}

// gatewayFrontend returns the frontend of an address and port, creating
// it on first use. A listener on an Ingress frontend's port shares it.
func (b *builder) gatewayFrontend(address string, port int32, tls bool) *GatewayFrontend {
	name, shared := b.frontendName(address, port, tls)
	f, ok := b.gateway.frontends[name]
	if !ok {
		f = &GatewayFrontend{Name: name, Address: address, Port: port, TLS: tls, Shared: shared}
		b.gateway.frontends[name] = f
	}
	return f
}

func namespaceLabels(nss []*corev1.Namespace) map[string]map[string]string {
	out := make(map[string]map[string]string, len(nss))
	for _, ns := range nss {
		out[ns.Name] = ns.Labels
	}
	return out
}
