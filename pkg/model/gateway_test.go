package model_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bollard-io/bollard/pkg/manifest"
	"github.com/bollard-io/bollard/pkg/model"
)

// gatewayBase is a class of ours, a Gateway with two HTTP listeners and
// a Service with an endpoint.
const gatewayBase = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ours}
spec: {controllerName: bollard.io/gateway-controller}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra, labels: {team: infra}}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {team: apps}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra, generation: 3}
spec:
  gatewayClassName: ours
  listeners:
  - {name: any, port: 80, protocol: HTTP}
  - {name: apps, port: 8080, protocol: HTTP, hostname: "*.apps.example", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: apps}}}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: apps}
spec: {ports: [{name: http, port: 80}]}
`

func buildGateway(t *testing.T, docs ...string) (model.Config, []model.Rejection) {
	t.Helper()
	res, err := manifest.Load([]string{"-"}, strings.NewReader(gatewayBase+"\n---\n"+strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.GatewayLoopback = true
	return model.Build(res.Snapshot, opts)
}

func route(ns, name, spec string) string {
	return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: " + name + ", namespace: " + ns + ", generation: 2}\nspec:\n" + spec
}

func routeStatus(t *testing.T, cfg model.Config, ns, name string) []gatewayv1.RouteParentStatus {
	t.Helper()
	for _, rs := range cfg.GatewayStatus.Routes {
		if rs.Namespace == ns && rs.Name == name {
			return rs.Parents
		}
	}
	t.Fatalf("no status for HTTPRoute %s/%s", ns, name)
	return nil
}

func cond(t *testing.T, conds []metav1.Condition, kind string) metav1.Condition {
	t.Helper()
	for _, c := range conds {
		if c.Type == kind {
			return c
		}
	}
	t.Fatalf("no %s condition in %+v", kind, conds)
	return metav1.Condition{}
}

func TestGatewayRouteParentConditions(t *testing.T) {
	cases := []struct {
		name, ns, spec        string
		accepted, resolved    metav1.ConditionStatus
		acceptReason, refsWhy string
	}{
		{"attached", "infra", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
			metav1.ConditionTrue, metav1.ConditionTrue, "Accepted", "ResolvedRefs"},
		{"unknown section", "infra", "  parentRefs: [{name: gw, sectionName: nope}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
			metav1.ConditionFalse, metav1.ConditionTrue, "NoMatchingParent", "ResolvedRefs"},
		{"port of no listener", "infra", "  parentRefs: [{name: gw, port: 9}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
			metav1.ConditionFalse, metav1.ConditionTrue, "NoMatchingParent", "ResolvedRefs"},
		{"namespace not allowed", "apps", "  parentRefs: [{name: gw, namespace: infra, sectionName: any}]\n  rules: [{backendRefs: [{name: api, port: 80}]}]\n",
			metav1.ConditionFalse, metav1.ConditionTrue, "NotAllowedByListeners", "ResolvedRefs"},
		{"selector allows", "apps", "  parentRefs: [{name: gw, namespace: infra}]\n  hostnames: [a.apps.example]\n  rules: [{backendRefs: [{name: api, port: 80}]}]\n",
			metav1.ConditionTrue, metav1.ConditionTrue, "Accepted", "ResolvedRefs"},
		{"no hostname in common", "apps", "  parentRefs: [{name: gw, namespace: infra, sectionName: apps}]\n  hostnames: [other.example]\n  rules: [{backendRefs: [{name: api, port: 80}]}]\n",
			metav1.ConditionFalse, metav1.ConditionTrue, "NoMatchingListenerHostname", "ResolvedRefs"},
		{"missing service", "infra", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: nowhere, port: 80}]}]\n",
			metav1.ConditionTrue, metav1.ConditionFalse, "Accepted", "BackendNotFound"},
		{"unknown kind", "infra", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{group: example.com, kind: Bucket, name: web, port: 80}]}]\n",
			metav1.ConditionTrue, metav1.ConditionFalse, "Accepted", "InvalidKind"},
		{"cross namespace without grant", "infra", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: api, namespace: apps, port: 80}]}]\n",
			metav1.ConditionTrue, metav1.ConditionFalse, "Accepted", "RefNotPermitted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := buildGateway(t, route(c.ns, "r", c.spec))
			parents := routeStatus(t, cfg, c.ns, "r")
			if len(parents) != 1 {
				t.Fatalf("parents: %+v", parents)
			}
			a, r := cond(t, parents[0].Conditions, "Accepted"), cond(t, parents[0].Conditions, "ResolvedRefs")
			if a.Status != c.accepted || a.Reason != c.acceptReason || r.Status != c.resolved || r.Reason != c.refsWhy {
				t.Errorf("Accepted %s/%s, ResolvedRefs %s/%s; want %s/%s, %s/%s (%s; %s)", a.Status, a.Reason, r.Status, r.Reason,
					c.accepted, c.acceptReason, c.resolved, c.refsWhy, a.Message, r.Message)
			}
			if a.ObservedGeneration != 2 || parents[0].ControllerName != model.DefaultGatewayControllerName {
				t.Errorf("observedGeneration %d, controllerName %q", a.ObservedGeneration, parents[0].ControllerName)
			}
		})
	}
}

func TestGatewayReferenceGrantAllowsCrossNamespaceBackend(t *testing.T) {
	grant := `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: apps}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]`
	cfg, _ := buildGateway(t, grant, route("infra", "r", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: api, namespace: apps, port: 80}]}]\n"))
	if r := cond(t, routeStatus(t, cfg, "infra", "r")[0].Conditions, "ResolvedRefs"); r.Status != metav1.ConditionTrue {
		t.Fatalf("ResolvedRefs %+v", r)
	}
	if _, ok := cfg.Backend("apps_api_80"); !ok {
		t.Fatal("no backend apps_api_80")
	}
}

func TestGatewayListenerStatus(t *testing.T) {
	cfg, rejections := buildGateway(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mixed, namespace: infra}
spec:
  gatewayClassName: ours
  listeners:
  - {name: ok, port: 80, protocol: HTTP}
  - {name: udp, port: 53, protocol: UDP}
  - {name: tls, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: missing}]}}
  - {name: kinds, port: 81, protocol: HTTP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}`,
		route("infra", "r", "  parentRefs: [{name: mixed}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n"))
	var gs *model.GatewayObjectStatus
	for i := range cfg.GatewayStatus.Gateways {
		if cfg.GatewayStatus.Gateways[i].Name == "mixed" {
			gs = &cfg.GatewayStatus.Gateways[i]
		}
	}
	if gs == nil || len(gs.Listeners) != 4 {
		t.Fatalf("status %+v", gs)
	}
	if a := cond(t, gs.Conditions, "Accepted"); a.Status != metav1.ConditionTrue || a.Reason != "ListenersNotValid" {
		t.Errorf("Gateway Accepted %+v", a)
	}
	if p := cond(t, gs.Conditions, "Programmed"); p.Status != metav1.ConditionTrue {
		t.Errorf("Gateway Programmed %+v", p)
	}
	want := []struct {
		kind, reason string
		status       metav1.ConditionStatus
		attached     int32
		kinds        int
	}{
		{"Programmed", "Programmed", metav1.ConditionTrue, 1, 1},
		{"Accepted", "UnsupportedProtocol", metav1.ConditionFalse, 0, 0},
		{"ResolvedRefs", "InvalidCertificateRef", metav1.ConditionFalse, 1, 1}, // attached, not served
		{"ResolvedRefs", "InvalidRouteKinds", metav1.ConditionFalse, 0, 0},
	}
	for i, w := range want {
		l := gs.Listeners[i]
		if c := cond(t, l.Conditions, w.kind); c.Status != w.status || c.Reason != w.reason {
			t.Errorf("listener %s: %s %s/%s, want %s/%s", l.Name, w.kind, c.Status, c.Reason, w.status, w.reason)
		}
		if l.AttachedRoutes != w.attached || len(l.SupportedKinds) != w.kinds {
			t.Errorf("listener %s: attachedRoutes %d, supportedKinds %v", l.Name, l.AttachedRoutes, l.SupportedKinds)
		}
	}
	if len(rejections) == 0 {
		t.Error("no Warning for the listeners left out")
	}
}

// TestGatewayRulePrecedence checks the order of the rendered rules:
// exact paths, longer prefixes, methods, more headers, more query
// parameters, then the older route.
func TestGatewayRulePrecedence(t *testing.T) {
	cfg, _ := buildGateway(t,
		route("infra", "young", "  parentRefs: [{name: gw, sectionName: any}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /a}}]\n    backendRefs: [{name: web, port: 80}]\n"),
		route("infra", "old", `  parentRefs: [{name: gw, sectionName: any}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /a}
    - path: {type: PathPrefix, value: /a}
      queryParams: [{name: q, value: "1"}]
    - path: {type: PathPrefix, value: /a}
      headers: [{name: h, value: "1"}]
    - path: {type: PathPrefix, value: /a}
      method: GET
    - path: {type: PathPrefix, value: /a/b}
    - path: {type: Exact, value: /a}
    backendRefs: [{name: web, port: 80}]`))
	var rules []model.GatewayRule
	for _, f := range cfg.Gateways {
		if f.Port == 80 {
			rules = f.Rules
		}
	}
	var got []string
	for _, r := range rules {
		d := r.Path
		switch {
		case r.PathExact:
			d = "exact " + d
		case r.Method != "":
			d += " method"
		case len(r.Headers) > 0:
			d += " header"
		case len(r.Query) > 0:
			d += " query"
		}
		got = append(got, d+" "+r.Route)
	}
	want := []string{"exact /a infra/old", "/a/b infra/old", "/a method infra/old", "/a header infra/old", "/a query infra/old", "/a infra/old", "/a infra/young"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %q\nwant %q", got, want)
	}
}

// TestGatewayBuildIsDeterministic shuffles the snapshot's slices.
func TestGatewayBuildIsDeterministic(t *testing.T) {
	docs := []string{
		route("infra", "a", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 80, weight: 2}, {name: nowhere, port: 80}]}]\n"),
		route("apps", "b", "  parentRefs: [{name: gw, namespace: infra}]\n  hostnames: [x.apps.example]\n  rules: [{backendRefs: [{name: api, port: 80}]}]\n"),
	}
	res, err := manifest.Load([]string{"-"}, strings.NewReader(gatewayBase+"\n---\n"+strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.GatewayLoopback = true
	first, _ := model.Build(res.Snapshot, opts)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10 {
		snap := res.Snapshot
		rng.Shuffle(len(snap.HTTPRoutes), func(i, j int) { snap.HTTPRoutes[i], snap.HTTPRoutes[j] = snap.HTTPRoutes[j], snap.HTTPRoutes[i] })
		rng.Shuffle(len(snap.Namespaces), func(i, j int) { snap.Namespaces[i], snap.Namespaces[j] = snap.Namespaces[j], snap.Namespaces[i] })
		again, _ := model.Build(snap, opts)
		if !reflect.DeepEqual(first.Gateways, again.Gateways) || !reflect.DeepEqual(first.GatewayStatus, again.GatewayStatus) {
			t.Fatal("a shuffled snapshot built another Gateway model")
		}
	}
}

// TestGatewaysSharingAPort: on the shared address, a second Gateway's
// listener with the same port and hostname, or the other protocol, is
// Conflicted and not programmed; the first Gateway keeps the port.
func TestGatewaysSharingAPort(t *testing.T) {
	t.Run("same age: by name", func(t *testing.T) {
		testGatewaysSharingAPort(t, "", "", map[string]string{"a/http": "NoConflicts", "a/named": "NoConflicts",
			"b/same": "HostnameConflict", "b/other-host": "NoConflicts", "c/tls": "ProtocolConflict"})
	})
	t.Run("the older first", func(t *testing.T) {
		testGatewaysSharingAPort(t, "2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z", map[string]string{"a/http": "HostnameConflict",
			"a/named": "NoConflicts", "b/same": "NoConflicts", "b/other-host": "NoConflicts", "c/tls": "ProtocolConflict"})
	})
}

// testGatewaysSharingAPort builds Gateways a and b, created at the times
// given ("" for none), and c, the newest, and checks each listener's Conflicted reason.
func testGatewaysSharingAPort(t *testing.T, createdA, createdB string, want map[string]string) {
	res, err := manifest.Load([]string{"-"}, strings.NewReader(gatewayBase+`
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: a, namespace: infra`+created(createdA)+`}
spec:
  gatewayClassName: ours
  listeners: [{name: http, port: 9000, protocol: HTTP}, {name: named, port: 9000, protocol: HTTP, hostname: a.example}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: b, namespace: infra`+created(createdB)+`}
spec:
  gatewayClassName: ours
  listeners:
  - {name: same, port: 9000, protocol: HTTP}
  - {name: other-host, port: 9000, protocol: HTTP, hostname: b.example}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: c-tls, namespace: infra}
data: {tls.crt: "", tls.key: ""}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: c, namespace: infra, creationTimestamp: "2026-03-01T00:00:00Z"}
spec:
  gatewayClassName: ours
  listeners:
  - {name: tls, port: 9000, protocol: HTTPS, hostname: c.example, tls: {certificateRefs: [{name: c-tls}]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	cfg, _ := model.Build(res.Snapshot, opts)
	seen := 0
	for _, gs := range cfg.GatewayStatus.Gateways {
		for _, l := range gs.Listeners {
			key := gs.Name + "/" + string(l.Name)
			w, ok := want[key]
			if !ok {
				continue
			}
			seen++
			if c := cond(t, l.Conditions, "Conflicted"); c.Reason != w {
				t.Errorf("%s: Conflicted %s/%s, want %s", key, c.Status, c.Reason, w)
			}
			if p := cond(t, l.Conditions, "Programmed"); (p.Status == metav1.ConditionTrue) != (w == "NoConflicts") {
				t.Errorf("%s: Programmed %s", key, p.Status)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("%d of %d listeners seen", seen, len(want))
	}
	for _, f := range cfg.Gateways {
		if f.Port == 9000 && (len(f.Listeners) != 3 || f.TLS) {
			t.Fatalf("port 9000: %+v, want the three plaintext listeners", f)
		}
	}
}

func created(at string) string {
	if at == "" {
		return ""
	}
	return ", creationTimestamp: " + at
}

// TestGatewayRefusedByHAProxy: an HTTPRoute or a Gateway in
// Options.Refused (the quarantine) is left out with Accepted=False and a
// Refused rejection; the other routes are still served.
func TestGatewayRefusedByHAProxy(t *testing.T) {
	res, err := manifest.Load([]string{"-"}, strings.NewReader(gatewayBase+"\n---\n"+
		route("infra", "bad", "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n")+"\n---\n"+
		route("infra", "good", "  parentRefs: [{name: gw}]\n  hostnames: [good.example]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n")))
	if err != nil {
		t.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.Refused = map[string]string{model.RefusedRouteKey("infra", "bad"): "line too long"}
	cfg, rejections := model.Build(res.Snapshot, opts)
	if a := cond(t, routeStatus(t, cfg, "infra", "bad")[0].Conditions, "Accepted"); a.Status != metav1.ConditionFalse || !strings.Contains(a.Message, "line too long") {
		t.Errorf("refused route: %+v", a)
	}
	if a := cond(t, routeStatus(t, cfg, "infra", "good")[0].Conditions, "Accepted"); a.Status != metav1.ConditionTrue {
		t.Errorf("other route: %+v", a)
	}
	var routes []string
	for _, f := range cfg.Gateways {
		for _, r := range f.Rules {
			routes = append(routes, r.Route)
		}
	}
	if !reflect.DeepEqual(routes, []string{"infra/good"}) {
		t.Errorf("served routes %v, want only infra/good", routes)
	}
	refused := func(rs []model.Rejection, kind string) bool {
		for _, r := range rs {
			if r.Kind == kind && r.Refused {
				return true
			}
		}
		return false
	}
	if !refused(rejections, "HTTPRoute") {
		t.Error("no Refused rejection for the route")
	}

	opts.Refused = map[string]string{model.RefusedGatewayKey("infra", "gw"): "bind failed"}
	cfg, rejections = model.Build(res.Snapshot, opts)
	gs := cfg.GatewayStatus.Gateways[0]
	if a := cond(t, gs.Conditions, "Accepted"); a.Status != metav1.ConditionFalse || !strings.Contains(a.Message, "bind failed") {
		t.Errorf("refused Gateway: %+v", a)
	}
	if len(cfg.Gateways) != 0 || !refused(rejections, "Gateway") {
		t.Errorf("frontends %+v, rejections %v: want none served and a Refused rejection", cfg.Gateways, rejections)
	}
	if a := cond(t, routeStatus(t, cfg, "infra", "good")[0].Conditions, "Accepted"); a.Status != metav1.ConditionFalse || a.Reason != "NoMatchingParent" {
		t.Errorf("route of the refused Gateway: %+v", a)
	}
}
