package render_test

import (
	"fmt"
	"testing"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayScaleSnapshot is scaleSnapshot's Services and endpoints served by
// n HTTPRoutes instead of Ingresses: one Gateway on the Ingress HTTP port
// that admits routes from every namespace, and per route its own host, a
// prefix rule and an Exact rule, so 2n rules.
func gatewayScaleSnapshot(n int) model.Snapshot {
	snap := scaleSnapshot(n)
	snap.Ingresses = nil
	snap.GatewayClasses = []*gatewayv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "bollard"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: model.DefaultGatewayControllerName}}}
	all := gatewayv1.NamespacesFromAll
	snap.Gateways = []*gatewayv1.Gateway{{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "edge"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "bollard", Listeners: []gatewayv1.Listener{{
			Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}},
		}}}}}
	prefix, exact := gatewayv1.PathMatchPathPrefix, gatewayv1.PathMatchExact
	gatewayNS := gatewayv1.Namespace("infra")
	port := gatewayv1.PortNumber(80)
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("team-%d", i%50)
		backend := []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(fmt.Sprintf("svc-%d", i)), Port: &port}}}}
		rule := func(kind *gatewayv1.PathMatchType, path string) gatewayv1.HTTPRouteRule {
			return gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: kind, Value: &path}}},
				BackendRefs: backend}
		}
		snap.HTTPRoutes = append(snap.HTTPRoutes, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("route-%d", i)},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "edge", Namespace: &gatewayNS}}},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(fmt.Sprintf("host-%d.example", i))},
				Rules:           []gatewayv1.HTTPRouteRule{rule(&prefix, "/"), rule(&exact, "/healthz")},
			},
		})
	}
	return snap
}

// gatewayScaleOptions serves the Gateway API, as the controller does.
func gatewayScaleOptions(t testing.TB) model.Options {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallbackPEM(t)
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	return opts
}

// checkGatewayScale fails unless every route is served: n backends and
// 2n rules on the shared HTTP frontend, nothing rejected.
func checkGatewayScale(t testing.TB, cfg model.Config, rejections []model.Rejection, n int) {
	t.Helper()
	rules := 0
	for _, f := range cfg.Gateways {
		rules += len(f.Rules)
	}
	if len(rejections) != 0 || len(cfg.Backends) != n || rules != 2*n {
		t.Fatalf("%d backends, %d rules, rejections %v", len(cfg.Backends), rules, rejections[:min(3, len(rejections))])
	}
}

// BenchmarkGatewayModelAndRender is BenchmarkModelAndRender with the
// routes as HTTPRoutes: model.Build plus render.Render of every file.
func BenchmarkGatewayModelAndRender(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("httproutes=%d", n), func(b *testing.B) {
			snap := gatewayScaleSnapshot(n)
			opts := gatewayScaleOptions(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cfg, rejections := model.Build(snap, opts)
				checkGatewayScale(b, cfg, rejections, n)
				if _, err := render.Render(&cfg, render.DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGatewayScaleConfigIsValid renders the 1k case and runs haproxy -c on
// it, so the benchmark measures a config HAProxy accepts.
func TestGatewayScaleConfigIsValid(t *testing.T) {
	cfg, rejections := model.Build(gatewayScaleSnapshot(1000), gatewayScaleOptions(t))
	checkGatewayScale(t, cfg, rejections, 1000)
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, t.TempDir(), files)
}
