package controller

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bollard-io/bollard/pkg/model"
)

// The quarantine holds HTTPRoutes and Gateways too, under the keys
// model.RefusedRouteKey and model.RefusedGatewayKey ("HTTPRoute:ns/name",
// "Gateway:ns/name"; a Kubernetes name holds no ':', so they never meet an
// Ingress's "ns/name"): whatever of theirs the model missed and HAProxy
// refuses costs only that route or Gateway.

// gatewayFingerprints fingerprints the HTTPRoutes attached to a Gateway
// of cfg and the Gateways of cfg.
func gatewayFingerprints(snap *model.Snapshot, cfg *model.Config, idx readIndex, fps map[string]string) {
	st := cfg.GatewayStatus
	if st == nil {
		return
	}
	routes := map[string]*gatewayv1.HTTPRoute{}
	for _, rt := range snap.HTTPRoutes {
		routes[rt.Namespace+"/"+rt.Name] = rt
	}
	for _, rs := range st.Routes {
		if rt, ok := routes[rs.Namespace+"/"+rs.Name]; ok && attached(rs) {
			fps[model.RefusedRouteKey(rt.Namespace, rt.Name)] = routeFingerprint(rt)
		}
	}
	gateways := map[string]*gatewayv1.Gateway{}
	for _, gw := range snap.Gateways {
		gateways[gw.Namespace+"/"+gw.Name] = gw
	}
	for _, gs := range st.Gateways {
		if gw, ok := gateways[gs.Namespace+"/"+gs.Name]; ok {
			fps[model.RefusedGatewayKey(gw.Namespace, gw.Name)] = gatewayFingerprint(gw, idx)
		}
	}
}

func attached(rs model.RouteStatus) bool {
	for _, p := range rs.Parents {
		for _, c := range p.Conditions {
			if c.Type == string(gatewayv1.RouteConditionAccepted) && c.Status == metav1.ConditionTrue {
				return true
			}
		}
	}
	return false
}

func objectVersion(generation int64, resourceVersion string) string {
	if generation == 0 { // objects that did not come from an API server
		return "rv" + resourceVersion
	}
	return strconv.FormatInt(generation, 10)
}

// routeFingerprint changes with the route's spec. The Services it routes
// to reach HAProxy as backends, which an Ingress may share: a broken
// Service option makes its Ingresses the suspects.
func routeFingerprint(rt *gatewayv1.HTTPRoute) string {
	return objectVersion(rt.Generation, rt.ResourceVersion)
}

// gatewayFingerprint changes with the Gateway's spec and the Secrets its
// listeners name.
func gatewayFingerprint(gw *gatewayv1.Gateway, idx readIndex) string {
	h := fnv.New64a()
	h.Write([]byte(objectVersion(gw.Generation, gw.ResourceVersion)))
	for _, l := range gw.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			ns := gw.Namespace
			if ref.Namespace != nil && *ref.Namespace != "" {
				ns = string(*ref.Namespace)
			}
			rv := "-"
			if s, ok := idx.secrets[ns+"/"+string(ref.Name)]; ok {
				rv = s.ResourceVersion
			}
			fmt.Fprintf(h, "\x00%s/%s@%s", ns, ref.Name, rv)
		}
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// gatewayObjectFingerprint returns the fingerprint of the HTTPRoute or
// Gateway a quarantine key names, false when snap does not hold it or the
// key names an Ingress.
func gatewayObjectFingerprint(snap *model.Snapshot, idx readIndex, key string) (string, bool) {
	kind, name, ok := strings.Cut(key, ":")
	if !ok {
		return "", false
	}
	switch kind {
	case "HTTPRoute":
		for _, rt := range snap.HTTPRoutes {
			if rt.Namespace+"/"+rt.Name == name {
				return routeFingerprint(rt), true
			}
		}
	case "Gateway":
		for _, gw := range snap.Gateways {
			if gw.Namespace+"/"+gw.Name == name {
				return gatewayFingerprint(gw, idx), true
			}
		}
	}
	return "", false
}
