package model_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// haproxyAccess is what the rules of templates/haproxy.cfg decide from the
// maps: map_ip's longest-prefix CIDR, then the member entry of the policy.
func haproxyAccess(m *model.PolicyMaps, policy string, ip netip.Addr) bool {
	access := lookup(m.Access, policy)
	if access == "" {
		return true
	}
	var best netip.Prefix
	for _, e := range m.CIDRs {
		p := netip.MustParsePrefix(e.Key)
		if p.Contains(ip) && (!best.IsValid() || p.Bits() > best.Bits()) {
			best = p
		}
	}
	member := ""
	if best.IsValid() {
		member = lookup(m.CIDRMembers, policy+"|"+best.String())
	}
	switch {
	case member == "deny":
		return false
	case access == "allow":
		return member == "allow"
	}
	return true
}

func lookup(entries []model.MapEntry, key string) string {
	for _, e := range entries {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// TestAccessListsMatchTheirMeaning: for random allow- and deny-lists over
// overlapping CIDRs of both families, the decision the shared maps give
// for any client address is the one the lists mean: denied when a deny
// CIDR holds it, else allowed when there is no allow-list or an allow CIDR
// holds it.
func TestAccessListsMatchTheirMeaning(t *testing.T) {
	pool := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "10.2.0.0/16", "192.168.0.0/16", "192.168.1.7",
		"0.0.0.0/0", "127.0.0.0/8", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1", "::/0", "fd00::/8"}
	probes := []string{"10.1.2.3", "10.1.2.4", "10.1.3.1", "10.2.9.9", "10.9.9.9", "11.0.0.1", "192.168.1.7", "192.168.2.1", "127.0.0.1",
		"2001:db8:1::1", "2001:db8:1::2", "2001:db8:2::1", "fd00::1", "fe80::1", "1.1.1.1"}
	rng := rand.New(rand.NewPCG(1, 15))
	for round := range 200 {
		var ingresses []*networkingv1.Ingress
		type lists struct{ allow, deny []netip.Prefix }
		want := map[string]lists{}
		for i := range 1 + rng.IntN(4) {
			name := fmt.Sprintf("ing%d", i)
			var opts []mt.IngressOption
			var l lists
			for _, which := range []string{"allow-list", "deny-list"} {
				if rng.IntN(3) == 0 {
					continue
				}
				var items []string
				for range 1 + rng.IntN(3) {
					items = append(items, pool[rng.IntN(len(pool))])
				}
				opts = append(opts, mt.Annotation("bollard.io/"+which, strings.Join(items, ",")))
				for _, it := range items {
					p, err := netip.ParsePrefix(it)
					if err != nil {
						a := netip.MustParseAddr(it)
						p = netip.PrefixFrom(a, a.BitLen())
					}
					if which == "allow-list" {
						l.allow = append(l.allow, p)
					} else {
						l.deny = append(l.deny, p)
					}
				}
			}
			want["ns/"+name] = l
			opts = append(opts, mt.Rule(name+".example", mt.Path("Prefix", "/", "svc", 80)))
			ingresses = append(ingresses, mt.Ingress("ns", name, opts...))
		}
		cfg, rejections := model.Build(model.Snapshot{Ingresses: ingresses, Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))}}, options())
		if len(rejections) > 0 {
			t.Fatalf("round %d: %v", round, rejections)
		}
		for policy, l := range want {
			for _, probe := range probes {
				ip := netip.MustParseAddr(probe)
				in := func(list []netip.Prefix) bool {
					for _, p := range list {
						if p.Contains(ip) {
							return true
						}
					}
					return false
				}
				meant := !in(l.deny) && (len(l.allow) == 0 || in(l.allow))
				if got := haproxyAccess(&cfg.Maps.Policy, policy, ip); got != meant {
					t.Fatalf("round %d, %s allow %v deny %v, client %s: maps say allowed=%v, want %v\nCIDRs %v\nmembers %v",
						round, policy, l.allow, l.deny, ip, got, meant, cfg.Maps.Policy.CIDRs, cfg.Maps.Policy.CIDRMembers)
				}
			}
		}
	}
}

// TestPolicyValuesAreEncoded: what a user wrote reaches a map only as
// unreserved characters and %XX, and decodes back to itself.
func TestPolicyValuesAreEncoded(t *testing.T) {
	for _, v := range []string{"a b", "x;y", "%[env(HOME)]", "${HOME}", "#c", "line\r\nnext", "caf\u00e9", "'\"\\", "<<"} {
		enc := model.PolicyValue(v)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~%", c) >= 0) {
				t.Errorf("%q encodes to %q, which holds %q", v, enc, c)
			}
		}
		var dec strings.Builder
		for i := 0; i < len(enc); i++ {
			if enc[i] == '%' {
				var b byte
				fmt.Sscanf(enc[i+1:i+3], "%02X", &b)
				dec.WriteByte(b)
				i += 2
				continue
			}
			dec.WriteByte(enc[i])
		}
		if dec.String() != v {
			t.Errorf("%q: encoded %q decodes to %q", v, enc, dec.String())
		}
	}
}

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
