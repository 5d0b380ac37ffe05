package model

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// addGateways serves the Gateways of our GatewayClasses and the
// HTTPRoutes attached to them, and computes their status.
func (b *builder) addGateways(snap Snapshot) {
	b.gateway = gatewayState{frontends: map[string]*GatewayFrontend{}, grants: map[string][]*gatewayv1.ReferenceGrant{}, certs: map[string]*Certificate{}, claims: map[string]map[string]string{}}
	if b.opts.GatewayControllerName == "" {
		return
	}
	st := &b.gateway.status
	ours := map[string]bool{}
	for _, c := range sortedByName(snap.GatewayClasses) {
		if string(c.Spec.ControllerName) != b.opts.GatewayControllerName {
			continue
		}
		ours[c.Name] = true
		st.Classes = append(st.Classes, ObjectStatus{Name: c.Name, Generation: c.Generation, Conditions: []metav1.Condition{
			condition(string(gatewayv1.GatewayClassConditionStatusAccepted), true, string(gatewayv1.GatewayClassReasonAccepted), "Bollard serves this class", c.Generation),
		}})
	}
	for _, g := range snap.ReferenceGrants {
		b.gateway.grants[g.Namespace] = append(b.gateway.grants[g.Namespace], g)
	}
	nsLabels := namespaceLabels(snap.Namespaces)
	// The older Gateway keeps a shared port's hostnames and its loopback
	// address, so a new Gateway cannot take them from one already served.
	gateways := slices.Clone(snap.Gateways)
	slices.SortFunc(gateways, func(x, y *gatewayv1.Gateway) int {
		return cmp.Or(x.CreationTimestamp.Time.Compare(y.CreationTimestamp.Time),
			cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	taken := map[netip.Addr]bool{}
	listeners := map[string][]*listener{}
	var statuses []*GatewayObjectStatus
	for _, gw := range gateways {
		if !ours[string(gw.Spec.GatewayClassName)] || !b.inScope(gw.Namespace) {
			continue
		}
		if validateNamespace(gw.Namespace) != nil || validateObjectName(gw.Name) != nil {
			continue
		}
		key := gw.Namespace + "/" + gw.Name
		gs := &GatewayObjectStatus{Namespace: gw.Namespace, Name: gw.Name, Generation: gw.Generation}
		if b.opts.GatewayLoopback {
			gs.Address = gatewayAddress(key, taken).String()
		}
		statuses = append(statuses, gs)
		if msg, refused := b.opts.Refused[RefusedGatewayKey(gw.Namespace, gw.Name)]; refused {
			b.rejections = append(b.rejections, Rejection{Kind: "Gateway", Namespace: gw.Namespace, Name: gw.Name,
				Field: "spec", Reason: refusedNote(msg), Refused: true})
			gs.refused = refusedNote(msg)
			listeners[key] = nil // no listener: its routes find no parent
			continue
		}
		listeners[key] = b.addGatewayListeners(gw, gs.Address, gs)
	}
	b.addHTTPRoutes(snap.HTTPRoutes, listeners, nsLabels)
	for _, gs := range statuses {
		gs.Conditions = gatewayConditions(gs)
		if gs.refused != "" {
			gs.Conditions = []metav1.Condition{
				condition(string(gatewayv1.GatewayConditionAccepted), false, string(gatewayv1.GatewayReasonInvalid), gs.refused, gs.Generation),
				condition(string(gatewayv1.GatewayConditionProgrammed), false, string(gatewayv1.GatewayReasonInvalid), gs.refused, gs.Generation),
			}
		}
		st.Gateways = append(st.Gateways, *gs)
	}
	created := map[string]metav1.Time{}
	for _, rt := range snap.HTTPRoutes {
		created[rt.Namespace+"/"+rt.Name] = rt.CreationTimestamp
	}
	for _, f := range b.gateway.frontends {
		slices.SortStableFunc(f.Listeners, func(x, y GatewayListener) int { return hostRank(x.Hostname, y.Hostname) })
		slices.SortStableFunc(f.Certificates, func(x, y GatewayCertificate) int {
			return cmp.Or(hostRank(x.SNI, y.SNI), cmp.Compare(x.FileName, y.FileName))
		})
		sortRules(f.Rules, created)
	}
	b.config.Gateways = sortGatewayFrontends(b.gateway.frontends)
	for name, c := range b.gateway.certs {
		if _, ingress := b.certs[name]; !ingress {
			b.config.GatewayCertificates = append(b.config.GatewayCertificates, Certificate{FileName: c.FileName, Secret: c.Secret, PEM: c.PEM, NotAfter: c.NotAfter})
		}
	}
	slices.SortFunc(b.config.GatewayCertificates, func(x, y Certificate) int { return cmp.Compare(x.FileName, y.FileName) })
	b.config.GatewayStatus = st
}

// gatewayConditions sums a Gateway's listeners up.
func gatewayConditions(gs *GatewayObjectStatus) []metav1.Condition {
	accepted, programmed := 0, 0
	for _, l := range gs.Listeners {
		for _, c := range l.Conditions {
			if c.Status != metav1.ConditionTrue {
				continue
			}
			switch c.Type {
			case string(gatewayv1.ListenerConditionAccepted):
				accepted++
			case string(gatewayv1.ListenerConditionProgrammed):
				programmed++
			}
		}
	}
	gen := gs.Generation
	acceptReason := string(gatewayv1.GatewayReasonAccepted)
	if accepted < len(gs.Listeners) {
		acceptReason = string(gatewayv1.GatewayReasonListenersNotValid)
	}
	progReason, progMsg := string(gatewayv1.GatewayReasonProgrammed), "HAProxy serves the Gateway's listeners"
	if programmed == 0 {
		progReason, progMsg = string(gatewayv1.GatewayReasonInvalid), "no listener is programmed"
	}
	return []metav1.Condition{
		condition(string(gatewayv1.GatewayConditionAccepted), accepted > 0 || len(gs.Listeners) == 0, acceptReason, "listeners accepted: "+strconv.Itoa(accepted), gen),
		condition(string(gatewayv1.GatewayConditionProgrammed), programmed > 0, progReason, progMsg, gen),
	}
}

// addHTTPRoutes attaches each route to the listeners of its parents that
// are our Gateways, oldest route first.
func (b *builder) addHTTPRoutes(routes []*gatewayv1.HTTPRoute, listeners map[string][]*listener, nsLabels map[string]map[string]string) {
	routes = slices.Clone(routes)
	slices.SortFunc(routes, func(x, y *gatewayv1.HTTPRoute) int {
		if !x.CreationTimestamp.Equal(&y.CreationTimestamp) {
			if x.CreationTimestamp.Before(&y.CreationTimestamp) {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	for _, rt := range routes {
		if !b.inScope(rt.Namespace) || validateNamespace(rt.Namespace) != nil || validateObjectName(rt.Name) != nil {
			continue
		}
		rs := RouteStatus{Namespace: rt.Namespace, Name: rt.Name, Generation: rt.Generation}
		var rules []compiledRule
		var dropped []string
		var refs routeRefs
		compiled := false
		refused, isRefused := b.opts.Refused[RefusedRouteKey(rt.Namespace, rt.Name)]
		if isRefused {
			b.rejections = append(b.rejections, Rejection{Kind: "HTTPRoute", Namespace: rt.Namespace, Name: rt.Name,
				Field: "spec", Reason: refusedNote(refused), Refused: true})
		}
		for k, ref := range rt.Spec.ParentRefs {
			if (ref.Group != nil && *ref.Group != gatewayGroup) || (ref.Kind != nil && *ref.Kind != "Gateway") {
				continue
			}
			ns := rt.Namespace
			if ref.Namespace != nil && *ref.Namespace != "" {
				ns = string(*ref.Namespace)
			}
			ls, ours := listeners[ns+"/"+string(ref.Name)]
			if !ours {
				continue
			}
			if isRefused {
				rs.Parents = append(rs.Parents, gatewayv1.RouteParentStatus{
					ParentRef:      ref,
					ControllerName: gatewayv1.GatewayController(b.opts.GatewayControllerName),
					Conditions: []metav1.Condition{
						condition(string(gatewayv1.RouteConditionAccepted), false, string(gatewayv1.RouteReasonUnsupportedValue), refusedNote(refused), rt.Generation),
						condition(string(gatewayv1.RouteConditionResolvedRefs), true, string(gatewayv1.RouteReasonResolvedRefs), "references not checked", rt.Generation),
					},
				})
				continue
			}
			if !compiled {
				rules, dropped, refs = b.compileRoute(rt)
				compiled = true
			}
			conds := b.attachRoute(rt, k, ref, ls, rules, dropped, refs, nsLabels)
			rs.Parents = append(rs.Parents, gatewayv1.RouteParentStatus{
				ParentRef:      ref,
				ControllerName: gatewayv1.GatewayController(b.opts.GatewayControllerName),
				Conditions:     conds,
			})
		}
		if len(rs.Parents) > 0 {
			b.gateway.status.Routes = append(b.gateway.status.Routes, rs)
		}
	}
}

func sortedByName(cs []*gatewayv1.GatewayClass) []*gatewayv1.GatewayClass {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y *gatewayv1.GatewayClass) int { return cmp.Compare(x.Name, y.Name) })
	return cs
}
