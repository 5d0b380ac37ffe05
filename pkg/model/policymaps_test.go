package model_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// The policy of an Ingress whose spec.defaultBackend is the catch-all
// applies to the requests that reach it through default_backend: it was
// dropped, so an allow-list there let every client through.
func TestCatchAllDefaultBackendPolicy(t *testing.T) {
	for _, c := range []struct {
		name        string
		annotations map[string]string
		want        string // the PolicyHost entry under CatchAllKey, "" none
	}{
		{"with a policy", map[string]string{"bollard.io/allow-list": "10.0.0.0/8"}, "ns/catchall"},
		{"without a policy", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			catchAll := mt.Ingress("ns", "catchall", mt.DefaultBackend("app", 80))
			for k, v := range c.annotations {
				mt.Annotation(k, v)(catchAll)
			}
			snap := model.Snapshot{
				Ingresses: []*networkingv1.Ingress{catchAll,
					mt.Ingress("ns", "site", mt.Rule("site.example", mt.Path("Prefix", "/", "app", 80)))},
				Services:       []*corev1.Service{mt.Service("ns", "app", mt.ServicePort("", 80))},
				EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "app", "app-1", "", 8080, mt.Ready("198.18.0.10"))},
			}
			cfg, rejections := model.Build(snap, options())
			if len(rejections) != 0 {
				t.Fatalf("rejections: %v", rejections)
			}
			if cfg.DefaultBackend == "" {
				t.Fatal("no default backend")
			}
			hosts := entries(cfg.Maps.Policy.PolicyHost)
			if got := hosts[model.CatchAllKey]; got != c.want {
				t.Errorf("PolicyHost[%q] = %q, want %q", model.CatchAllKey, got, c.want)
			}
			for _, b := range cfg.Backends {
				if b.Name == cfg.DefaultBackend && b.Options.Policies != (c.want != "") {
					t.Errorf("the default backend runs the policy rules: %v, want %v", b.Options.Policies, c.want != "")
				}
			}
			if c.want != "" {
				// The route of the other Ingress stops the lookup before "*".
				if got := entries(cfg.Maps.Policy.PolicyPrefix)[model.PrefixKey("site.example", "")]; got != model.NoPolicy {
					t.Errorf("the route without a policy to the same backend: %q, want %q", got, model.NoPolicy)
				}
				if got := entries(cfg.Maps.Policy.Access)["ns/catchall"]; got != "allow" {
					t.Errorf("Access[ns/catchall] = %q, want allow", got)
				}
			}
		})
	}
}
