package model_test

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
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

// tenancySnapshot: namespace team-a serves h.example first; team-a adds a
// path later, team-b (younger) tries to add a path, a TLS host and a
// default backend on h.example, and serves a host of its own. The slice is
// deliberately not sorted by age.
func tenancySnapshot(t *testing.T) model.Snapshot {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"h.example", "b.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return model.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			mt.Ingress("team-b", "intruder", mt.Age(2*time.Hour),
				mt.Rule("h.example", mt.Path("Prefix", "/b", "b", 80)),
				mt.Rule("b.example", mt.Path("Prefix", "/", "b", 80)),
				mt.TLS("tls", "h.example", "b.example"),
				mt.DefaultBackend("b-default", 80)),
			mt.Ingress("team-a", "more", mt.Age(time.Hour), mt.Rule("h.example", mt.Path("Prefix", "/a2", "a", 80))),
			mt.Ingress("team-a", "first", mt.Rule("h.example", mt.Path("Prefix", "/a", "a", 80))),
		},
		Secrets: []*corev1.Secret{mt.TLSSecret("team-b", "tls", pair.CertPEM, pair.KeyPEM)},
	}
}

func TestHostOwnershipFirstNamespace(t *testing.T) {
	opts := options()
	opts.HostOwnership = model.HostOwnershipFirstNamespace
	cfg, rejections := model.Build(tenancySnapshot(t), opts)

	wantPrefix := map[string]string{
		"h.example/a/":  "team-a_a_80",
		"h.example/a2/": "team-a_a_80", // the owner namespace may add paths
		"b.example/":    "team-b_b_80", // the intruder's own host keeps serving
	}
	if got := entries(cfg.Maps.PrefixPaths); !reflect.DeepEqual(got, wantPrefix) {
		t.Errorf("prefix map %v, want %v", got, wantPrefix)
	}
	if got := entries(cfg.Maps.HostDefaults); !reflect.DeepEqual(got, map[string]string{"b.example": "team-b_b-default_80"}) {
		t.Errorf("host defaults %v: team-b's default backend may apply to b.example only", got)
	}
	var sni []string
	for _, c := range cfg.Certificates {
		sni = append(sni, c.SNI...)
	}
	if !reflect.DeepEqual(sni, []string{"b.example"}) {
		t.Errorf("SNI %v: team-b's certificate may serve b.example only", sni)
	}
	reason := `host "h.example" is owned by namespace team-a (oldest Ingress team-a/first)`
	assertRejections(t, rejections, []string{
		"Ingress team-b/intruder: rejected: spec.defaultBackend: " + reason,
		"Ingress team-b/intruder: rejected: spec.rules[0].host: " + reason,
		"Ingress team-b/intruder: rejected: spec.tls[0].hosts[0]: " + reason,
	})
	if !slices.Contains(cfg.Served, "team-b/intruder") {
		t.Errorf("served %v: an Ingress with a refused host still serves its other hosts", cfg.Served)
	}

	// The default, shared, lets team-b add its path: the test above is not
	// passing by accident.
	cfg, _ = model.Build(tenancySnapshot(t), options())
	if got := entries(cfg.Maps.PrefixPaths)["h.example/b/"]; got != "team-b_b_80" {
		t.Errorf("shared: h.example/b/ → %q, want team-b_b_80", got)
	}
}

// TestHostOwnershipByAge: the owner is the namespace of the oldest Ingress,
// wherever it is in the snapshot and whatever its name.
func TestHostOwnershipByAge(t *testing.T) {
	opts := options()
	opts.HostOwnership = model.HostOwnershipFirstNamespace
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("aaa", "a", mt.Age(time.Minute), mt.Rule("h.example", mt.Path("Prefix", "/a", "a", 80))),
		mt.Ingress("zzz", "z", mt.Rule("h.example", mt.Path("Prefix", "/z", "z", 80))),
	}}
	cfg, rejections := model.Build(snap, opts)
	if got := entries(cfg.Maps.PrefixPaths); !reflect.DeepEqual(got, map[string]string{"h.example/z/": "zzz_z_80"}) {
		t.Errorf("prefix map %v: the older namespace zzz must own h.example", got)
	}
	assertRejectionField(t, rejections, "spec.rules[0].host", "owned by namespace zzz (oldest Ingress zzz/z)")
}

// TestHostOwnershipWildcardAndHostless: a wildcard is a host of its own,
// and rules without a host are owned like one host.
func TestHostOwnershipWildcardAndHostless(t *testing.T) {
	opts := options()
	opts.HostOwnership = model.HostOwnershipFirstNamespace
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("a", "old", mt.Rule("a.foo.example", mt.Path("Prefix", "/", "a", 80)), mt.Rule("", mt.Path("Prefix", "/x", "a", 80))),
		mt.Ingress("b", "young", mt.Age(time.Minute), mt.Rule("*.foo.example", mt.Path("Prefix", "/", "b", 80)), mt.Rule("", mt.Path("Prefix", "/y", "b", 80))),
	}}
	cfg, rejections := model.Build(snap, opts)
	want := map[string]string{"a.foo.example/": "a_a_80", "*.foo.example/": "b_b_80", "_/x/": "a_a_80"}
	if got := entries(cfg.Maps.PrefixPaths); !reflect.DeepEqual(got, want) {
		t.Errorf("prefix map %v, want %v", got, want)
	}
	assertRejections(t, rejections, []string{
		"Ingress b/young: rejected: spec.rules[1].host: rules without a host are owned by namespace a (oldest Ingress a/old)",
	})
}

// TestHostOwnershipIgnoresRejectedIngress: an Ingress that is left out
// owns nothing.
func TestHostOwnershipIgnoresRejectedIngress(t *testing.T) {
	opts := options()
	opts.HostOwnership = model.HostOwnershipFirstNamespace
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("a", "broken", mt.Rule("h.example", mt.Path("Prefix", "/a b", "a", 80))),
		mt.Ingress("b", "fine", mt.Age(time.Minute), mt.Rule("h.example", mt.Path("Prefix", "/", "b", 80))),
	}}
	cfg, _ := model.Build(snap, opts)
	if got := entries(cfg.Maps.PrefixPaths); !reflect.DeepEqual(got, map[string]string{"h.example/": "b_b_80"}) {
		t.Errorf("prefix map %v: b must own h.example when a's Ingress is rejected", got)
	}
}

// TestHostOwnershipDeterminism: any order of the same objects gives the
// same Config and rejections.
func TestHostOwnershipDeterminism(t *testing.T) {
	opts := options()
	opts.HostOwnership = model.HostOwnershipFirstNamespace
	snap := tenancySnapshot(t)
	for i := 0; i < 12; i++ {
		ns := []string{"x", "y", "z"}[i%3]
		snap.Ingresses = append(snap.Ingresses, mt.Ingress(ns, "ing"+string(rune('a'+i)), mt.Age(time.Duration(i%4)*time.Minute),
			mt.Rule("h"+string(rune('a'+i%5))+".example", mt.Path("Prefix", "/p"+string(rune('a'+i)), "s", 80))))
	}
	want, wantRej := model.Build(snap, opts)
	if len(wantRej) < 5 {
		t.Fatalf("only %d rejections: the snapshot must have cross-namespace conflicts", len(wantRej))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10; i++ {
		shuffled := snap
		shuffled.Ingresses = slices.Clone(snap.Ingresses)
		rng.Shuffle(len(shuffled.Ingresses), func(a, b int) {
			shuffled.Ingresses[a], shuffled.Ingresses[b] = shuffled.Ingresses[b], shuffled.Ingresses[a]
		})
		got, gotRej := model.Build(shuffled, opts)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotRej, wantRej) {
			t.Fatalf("shuffle %d changed the model", i)
		}
	}
}

func TestParseHostOwnership(t *testing.T) {
	for _, s := range []string{"shared", "first-namespace"} {
		if h, err := model.ParseHostOwnership(s); err != nil || string(h) != s {
			t.Errorf("ParseHostOwnership(%q) = %q, %v", s, h, err)
		}
	}
	for _, s := range []string{"", "First-Namespace", "namespace", "shared "} {
		if _, err := model.ParseHostOwnership(s); err == nil || !strings.Contains(err.Error(), "want shared or first-namespace") {
			t.Errorf("ParseHostOwnership(%q): error %v", s, err)
		}
	}
}

func TestParseEndpointCIDRs(t *testing.T) {
	got, err := model.ParseEndpointCIDRs("198.18.0.0/15, fd00::/8")
	want := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("fd00::/8")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := model.ParseEndpointCIDRs(""); err != nil || got != nil {
		t.Errorf("empty: got %v, %v", got, err)
	}
	for in, msg := range map[string]string{
		"10.0.0.0":            `"10.0.0.0"`,
		"10.0.0.0/8,":         `""`,
		"10.0.0.1/8":          "host bits set; did you mean 10.0.0.0/8?",
		"10.0.0.0/33":         `"10.0.0.0/33"`,
		"::ffff:10.0.0.0/104": "IPv4-mapped",
		"fe80::/10%eth0":      `"fe80::/10%eth0"`,
	} {
		if _, err := model.ParseEndpointCIDRs(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseEndpointCIDRs(%q): error %v, want one containing %s", in, err, msg)
		}
	}
}

func TestEndpointRanges(t *testing.T) {
	v6 := mt.Slice("ns", "svc", "v6", "", 8080, mt.Ready("::1"), mt.Ready("fe80::1"), mt.Ready("fd00::5"))
	v6.AddressType = discoveryv1.AddressTypeIPv6
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			mt.Slice("ns", "svc", "v4", "", 8080, mt.Ready("127.0.0.1"), mt.Ready("169.254.169.254"),
				mt.Ready("198.18.0.7"), mt.Ready("10.1.2.3"), mt.Ready("127.3.0.1")),
			v6,
		},
	}
	cases := []struct {
		name     string
		cidrs    string
		kept     []string
		rejected map[string]string // "slice field" → part of the reason
	}{
		{"default", "", []string{"10.1.2.3", "198.18.0.7", "fd00::5"}, map[string]string{
			"v4 endpoints[0].addresses[0]": "127.0.0.1 is loopback (127.0.0.0/8)",
			"v4 endpoints[1].addresses[0]": "169.254.169.254 is link-local (169.254.0.0/16)",
			"v4 endpoints[4].addresses[0]": "loopback",
			"v6 endpoints[0].addresses[0]": "::1 is loopback (::1/128)",
			"v6 endpoints[1].addresses[0]": "fe80::1 is link-local (fe80::/10)",
		}},
		{"restricted", "198.18.0.0/15,fd00::/8", []string{"198.18.0.7", "fd00::5"}, map[string]string{
			"v4 endpoints[0].addresses[0]": "loopback",
			"v4 endpoints[1].addresses[0]": "link-local",
			"v4 endpoints[3].addresses[0]": "10.1.2.3 is outside the ranges of --endpoint-cidrs",
			"v4 endpoints[4].addresses[0]": "loopback",
			"v6 endpoints[0].addresses[0]": "loopback",
			"v6 endpoints[1].addresses[0]": "link-local",
		}},
		{"a broad prefix does not allow loopback", "0.0.0.0/0,::/0", []string{"10.1.2.3", "198.18.0.7", "fd00::5"}, map[string]string{
			"v4 endpoints[0].addresses[0]": "loopback",
			"v4 endpoints[1].addresses[0]": "link-local",
			"v4 endpoints[4].addresses[0]": "loopback",
			"v6 endpoints[0].addresses[0]": "loopback",
			"v6 endpoints[1].addresses[0]": "link-local",
		}},
		{"a prefix naming loopback allows it", "127.0.0.0/24", []string{"127.0.0.1"}, map[string]string{
			"v4 endpoints[1].addresses[0]": "link-local",
			"v4 endpoints[2].addresses[0]": "outside",
			"v4 endpoints[3].addresses[0]": "outside",
			"v4 endpoints[4].addresses[0]": "loopback",
			"v6 endpoints[0].addresses[0]": "loopback",
			"v6 endpoints[1].addresses[0]": "link-local",
			"v6 endpoints[2].addresses[0]": "outside",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := options()
			var err error
			if opts.EndpointCIDRs, err = model.ParseEndpointCIDRs(c.cidrs); err != nil {
				t.Fatal(err)
			}
			cfg, rejections := model.Build(snap, opts)
			be, _ := cfg.Backend("ns_svc_80")
			var kept []string
			for _, ep := range be.Endpoints {
				kept = append(kept, ep.Address.String())
			}
			if !reflect.DeepEqual(kept, c.kept) {
				t.Errorf("kept %v, want %v", kept, c.kept)
			}
			got := map[string]string{}
			for _, r := range rejections {
				if r.Kind == "EndpointSlice" && !r.Warning {
					got[r.Name+" "+r.Field] = r.Reason
				}
			}
			if len(got) != len(c.rejected) {
				t.Errorf("rejections %v, want %d", got, len(c.rejected))
			}
			for field, reason := range c.rejected {
				if !strings.Contains(got[field], reason) {
					t.Errorf("%s: reason %q, want one containing %q", field, got[field], reason)
				}
			}
		})
	}
}
