package model_test

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func options() model.Options {
	o := model.DefaultOptions()
	o.Now = now
	return o
}

func entries(es []model.MapEntry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		m[e.Key] = e.Value
	}
	return m
}

func TestMapsForHostsAndPaths(t *testing.T) {
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("ns", "a", mt.Rule("foo.example",
			mt.Path("Exact", "/foo/", "svc", 80),
			mt.Path("Prefix", "/aaa/bbb/", "svc", 80),
			mt.Path("Prefix", "/", "svc", "http"),
			mt.Path("ImplementationSpecific", "/impl", "svc", 80),
		)),
		mt.Ingress("ns", "b", mt.Rule("*.wild.example", mt.Path("Prefix", "/", "svc", 80))),
		mt.Ingress("ns", "c", mt.Rule("", mt.Path("Prefix", "/x", "svc", 80))),
	}}
	cfg, rejections := model.Build(snap, options())
	for _, r := range rejections {
		if !r.Warning {
			t.Errorf("unexpected rejection %s", r)
		}
	}
	m := cfg.Maps
	if got := entries(m.Hosts); !reflect.DeepEqual(got, map[string]string{"foo.example": "foo.example"}) {
		t.Errorf("hosts map %v", got)
	}
	if got := entries(m.Wildcards); !reflect.DeepEqual(got, map[string]string{".wild.example": "*.wild.example"}) {
		t.Errorf("wildcards map %v", got)
	}
	if got := entries(m.ExactPaths); !reflect.DeepEqual(got, map[string]string{"foo.example/foo/": "ns_svc_80"}) {
		t.Errorf("exact map %v", got)
	}
	wantPrefix := map[string]string{
		"foo.example/aaa/bbb/": "ns_svc_80",
		"foo.example/":         "ns_svc_http",
		"foo.example/impl/":    "ns_svc_80",
		"*.wild.example/":      "ns_svc_80",
		"_/x/":                 "ns_svc_80",
	}
	if got := entries(m.PrefixPaths); !reflect.DeepEqual(got, wantPrefix) {
		t.Errorf("prefix map %v, want %v", got, wantPrefix)
	}
	if len(cfg.Backends) != 2 || cfg.Backends[0].Name != "ns_svc_80" || cfg.Backends[1].Name != "ns_svc_http" {
		t.Errorf("backends %+v", cfg.Backends)
	}
}

func TestConflictOldestWins(t *testing.T) {
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("ns", "young", mt.Age(time.Hour), mt.Rule("h.example", mt.Path("Prefix", "/p", "young", 80), mt.Path("Prefix", "/own", "young", 80))),
		mt.Ingress("ns", "old", mt.Rule("h.example", mt.Path("Prefix", "/p/", "old", 80))),
		// Same age: namespace/name decides.
		mt.Ingress("ns", "b-same", mt.Age(time.Minute), mt.Rule("s.example", mt.Path("Exact", "/", "b", 80))),
		mt.Ingress("ns", "a-same", mt.Age(time.Minute), mt.Rule("s.example", mt.Path("Exact", "/", "a", 80))),
	}}
	cfg, rejections := model.Build(snap, options())
	prefix := entries(cfg.Maps.PrefixPaths)
	if prefix["h.example/p/"] != "ns_old_80" || prefix["h.example/own/"] != "ns_young_80" {
		t.Errorf("prefix map %v: the older Ingress must win /p and the younger keep /own", prefix)
	}
	if got := entries(cfg.Maps.ExactPaths)["s.example/"]; got != "ns_a_80" {
		t.Errorf("tie on age must go to the first namespace/name, got %s", got)
	}
	want := []string{
		"Ingress ns/b-same: rejected: spec.rules[0].http.paths[0].path: host \"s.example\" path \"/\" is already routed by the older Ingress ns/a-same",
		"Ingress ns/young: rejected: spec.rules[0].http.paths[0].path: host \"h.example\" path \"/p\" is already routed by the older Ingress ns/old",
	}
	assertRejections(t, rejections, want)
}

func assertRejections(t *testing.T, got []model.Rejection, want []string) {
	t.Helper()
	var lines []string
	for _, r := range got {
		if !r.Warning {
			lines = append(lines, r.String())
		}
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestClassFiltering(t *testing.T) {
	ours := mt.IngressClass("bollard", model.DefaultControllerName, false)
	foreign := mt.IngressClass("nginx", "k8s.io/ingress-nginx", false)
	renamed := mt.IngressClass("edge", model.DefaultControllerName, false)
	cases := []struct {
		name     string
		ing      *networkingv1.Ingress
		classes  []*networkingv1.IngressClass
		noClass  bool
		wantOurs bool
	}{
		{"class names our IngressClass", mt.Ingress("n", "i", mt.Class("edge")), []*networkingv1.IngressClass{renamed}, false, true},
		{"class names a foreign IngressClass", mt.Ingress("n", "i", mt.Class("nginx")), []*networkingv1.IngressClass{ours, foreign}, false, false},
		{"class bollard without an IngressClass object", mt.Ingress("n", "i", mt.Class("bollard")), nil, false, true},
		{"IngressClass named bollard of another controller", mt.Ingress("n", "i", mt.Class("bollard")), []*networkingv1.IngressClass{mt.IngressClass("bollard", "other", false)}, false, false},
		{"unknown class", mt.Ingress("n", "i", mt.Class("haproxy")), []*networkingv1.IngressClass{ours}, false, false},
		{"legacy annotation ours", mt.Ingress("n", "i", mt.Class(""), mt.Annotation(model.AnnotationLegacyClass, "bollard")), nil, false, true},
		{"legacy annotation foreign", mt.Ingress("n", "i", mt.Class(""), mt.Annotation(model.AnnotationLegacyClass, "nginx")), []*networkingv1.IngressClass{foreign}, false, false},
		{"no class, no default", mt.Ingress("n", "i", mt.Class("")), []*networkingv1.IngressClass{ours}, false, false},
		{"no class, our class is default", mt.Ingress("n", "i", mt.Class("")), []*networkingv1.IngressClass{mt.IngressClass("bollard", model.DefaultControllerName, true)}, false, true},
		{"no class, a foreign class is default", mt.Ingress("n", "i", mt.Class("")), []*networkingv1.IngressClass{mt.IngressClass("nginx", "x", true)}, false, false},
		{"no class, flag set", mt.Ingress("n", "i", mt.Class("")), nil, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := options()
			opts.WatchIngressWithoutClass = c.noClass
			if got := model.IsOurs(c.ing, c.classes, opts); got != c.wantOurs {
				t.Errorf("IsOurs = %v, want %v", got, c.wantOurs)
			}
			c.ing.Spec.Rules = []networkingv1.IngressRule{{Host: "h.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{mt.Path("Prefix", "/", "s", 80)}}}}}
			cfg, _ := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{c.ing}, IngressClasses: c.classes}, opts)
			if served := len(cfg.Maps.Hosts) == 1; served != c.wantOurs {
				t.Errorf("served = %v, want %v", served, c.wantOurs)
			}
		})
	}
}

func TestWatchNamespace(t *testing.T) {
	opts := options()
	opts.WatchNamespace = "team-a"
	cfg, _ := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("team-a", "in", mt.Rule("a.example", mt.Path("Prefix", "/", "s", 80))),
		mt.Ingress("team-b", "out", mt.Rule("b.example", mt.Path("Prefix", "/", "s", 80))),
	}}, opts)
	if got := entries(cfg.Maps.Hosts); len(got) != 1 || got["a.example"] == "" {
		t.Errorf("only team-a should be served, hosts %v", got)
	}
}

func TestEndpoints(t *testing.T) {
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.Rule("h.example",
			mt.Path("Prefix", "/by-name", "svc", "web"), mt.Path("Prefix", "/by-number", "svc", 80)))},
		Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("metrics", 9090), mt.ServicePort("web", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			mt.Slice("ns", "svc", "svc-a", "web", 8080,
				mt.Ready("198.18.0.12"),
				mt.Ready("198.18.0.10"),
				mt.Endpoint{Address: "198.18.0.11", Serving: true, Terminating: true},
				mt.Endpoint{Address: "198.18.0.13"}, // not ready, not serving: left out
			),
			mt.Slice("ns", "svc", "svc-b", "metrics", 9100, mt.Ready("198.18.0.99")),
			mt.Slice("ns", "svc", "svc-c", "web", 8080, mt.Ready("198.18.0.10"), // duplicate across slices
				mt.Endpoint{Address: "198.18.0.14", Serving: true, Terminating: true}),
			// Ready in any slice serves, whichever slice comes first; draining
			// in every slice drains.
			mt.Slice("ns", "svc", "svc-d", "web", 8080, mt.Ready("198.18.0.14"),
				mt.Endpoint{Address: "198.18.0.12", Serving: true, Terminating: true},
				mt.Endpoint{Address: "198.18.0.11", Serving: true, Terminating: true}),
		},
	}
	cfg, rejections := model.Build(snap, options())
	if len(rejections) != 0 {
		t.Fatalf("rejections: %v", rejections)
	}
	want := []model.Endpoint{
		{Address: netip.MustParseAddr("198.18.0.10"), Port: 8080},
		{Address: netip.MustParseAddr("198.18.0.11"), Port: 8080, Draining: true},
		{Address: netip.MustParseAddr("198.18.0.12"), Port: 8080},
		{Address: netip.MustParseAddr("198.18.0.14"), Port: 8080},
	}
	for _, name := range []string{"ns_svc_web", "ns_svc_80"} {
		be, ok := cfg.Backend(name)
		if !ok {
			t.Fatalf("no backend %s in %+v", name, cfg.Backends)
		}
		if !reflect.DeepEqual(be.Endpoints, want) {
			t.Errorf("%s endpoints %+v, want %+v", name, be.Endpoints, want)
		}
		if be.Slots != 8 {
			t.Errorf("%s slots %d, want 8 (room to double)", name, be.Slots)
		}
	}
}

func TestMissingServiceStillRoutes(t *testing.T) {
	cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/", "ghost", 80), mt.Path("Prefix", "/named", "ghost", "web"))),
	}}, options())
	if len(cfg.Backends) != 2 || len(cfg.Backends[0].Endpoints) != 0 {
		t.Errorf("backends %+v: a missing Service gets an empty backend (503)", cfg.Backends)
	}
	if len(rejections) != 2 || !rejections[0].Warning || !strings.Contains(rejections[0].Reason, "not found") {
		t.Errorf("want two warnings naming the missing service, got %v", rejections)
	}
}

func TestResourceBackendRejected(t *testing.T) {
	ing := mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/ok", "svc", 80), mt.Path("Prefix", "/res", "svc", 80)))
	ing.Spec.Rules[0].HTTP.Paths[1].Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "StorageBucket", Name: "b"}}
	cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, options())
	assertRejectionField(t, rejections, "spec.rules[0].http.paths[1].backend.resource", "resource backends are not supported")
	if got := entries(cfg.Maps.PrefixPaths); len(got) != 1 || got["h.example/ok/"] == "" {
		t.Errorf("the other path must still route: %v", got)
	}
}

func assertRejectionField(t *testing.T, rs []model.Rejection, field, reason string) {
	t.Helper()
	for _, r := range rs {
		if r.Field == field && strings.Contains(r.Reason, reason) && !r.Warning {
			return
		}
	}
	t.Errorf("no rejection of %s containing %q in %v", field, reason, rs)
}

// TestDeterminism: the same objects in any order give the same Config.
func TestDeterminism(t *testing.T) {
	snap := bigSnapshot(t)
	want, wantRej := model.Build(snap, options())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		shuffled := snap
		shuffled.Ingresses = append([]*networkingv1.Ingress(nil), snap.Ingresses...)
		shuffled.EndpointSlices = append([]*discoveryv1.EndpointSlice(nil), snap.EndpointSlices...)
		rng.Shuffle(len(shuffled.Ingresses), func(a, b int) {
			shuffled.Ingresses[a], shuffled.Ingresses[b] = shuffled.Ingresses[b], shuffled.Ingresses[a]
		})
		rng.Shuffle(len(shuffled.EndpointSlices), func(a, b int) {
			shuffled.EndpointSlices[a], shuffled.EndpointSlices[b] = shuffled.EndpointSlices[b], shuffled.EndpointSlices[a]
		})
		got, gotRej := model.Build(shuffled, options())
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotRej, wantRej) {
			t.Fatalf("shuffle %d changed the model", i)
		}
	}
}

func bigSnapshot(t *testing.T) model.Snapshot {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"t0.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	snap := model.Snapshot{Secrets: []*corev1.Secret{mt.TLSSecret("ns", "tls", pair.CertPEM, pair.KeyPEM)}}
	for i := 0; i < 30; i++ {
		svc := "svc" + string(rune('a'+i%5))
		snap.Ingresses = append(snap.Ingresses, mt.Ingress("ns", "ing"+string(rune('a'+i)),
			mt.Age(time.Duration(i%3)*time.Minute), mt.TLS("tls", "t0.example"),
			mt.Rule("h"+string(rune('a'+i%7))+".example", mt.Path("Prefix", "/p"+string(rune('a'+i%4)), svc, 80))))
	}
	for i := 0; i < 5; i++ {
		svc := "svc" + string(rune('a'+i))
		snap.Services = append(snap.Services, mt.Service("ns", svc, mt.ServicePort("", 80)))
		snap.EndpointSlices = append(snap.EndpointSlices,
			mt.Slice("ns", svc, svc+"-1", "", 8080, mt.Ready("198.18.0.1"), mt.Ready("198.18.0.2")),
			mt.Slice("ns", svc, svc+"-2", "", 8080, mt.Ready("198.18.0.3")))
	}
	return snap
}
