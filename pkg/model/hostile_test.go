package model_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

func healthy() *networkingv1.Ingress {
	return mt.Ingress("ns", "healthy", mt.Rule("ok.example", mt.Path("Prefix", "/", "ok", 80)))
}

func hostileIngress(opts ...mt.IngressOption) *networkingv1.Ingress {
	return mt.Ingress("ns", "hostile", opts...)
}

// TestHostileIngresses: each hostile Ingress is left out with a rejection
// that names the field, and the healthy Ingress next to it still routes.
func TestHostileIngresses(t *testing.T) {
	path := func(p string) *networkingv1.Ingress {
		return hostileIngress(mt.Rule("h.example", mt.Path("Prefix", p, "svc", 80)))
	}
	exactPath := func(p string) *networkingv1.Ingress {
		return hostileIngress(mt.Rule("h.example", mt.Path("Exact", p, "svc", 80)))
	}
	host := func(h string) *networkingv1.Ingress {
		return hostileIngress(mt.Rule(h, mt.Path("Prefix", "/", "svc", 80)))
	}
	annotation := func(k, v string) *networkingv1.Ingress {
		return hostileIngress(mt.Annotation(k, v), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	}
	tooMany := hostileIngress()
	for i := 0; i <= model.MaxPathsPerIngress; i++ {
		mt.Rule("h.example", mt.Path("Exact", "/p"+strings.Repeat("x", i%50), "svc", 80))(tooMany)
	}
	badName := hostileIngress(mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	badName.Name = "hostile\nbackend x"

	cases := []struct {
		name  string
		ing   *networkingv1.Ingress
		field string
	}{
		{"LF in path", path("/a\nhttp-request deny"), "spec.rules[0].http.paths[0].path"},
		{"CR in path", path("/a\rb"), "spec.rules[0].http.paths[0].path"},
		{"NUL in path", path("/a\x00b"), "spec.rules[0].http.paths[0].path"},
		{"DEL in path", path("/a\x7fb"), "spec.rules[0].http.paths[0].path"},
		{"tab in path", path("/a\tb"), "spec.rules[0].http.paths[0].path"},
		{"space in path", path("/a b"), "spec.rules[0].http.paths[0].path"},
		{"hash in path", path("/a#b"), "spec.rules[0].http.paths[0].path"},
		{"double quote in path", path(`/a"b`), "spec.rules[0].http.paths[0].path"},
		{"single quote in path", path("/a'b"), "spec.rules[0].http.paths[0].path"},
		{"backslash in path", path(`/a\b`), "spec.rules[0].http.paths[0].path"},
		{"env expansion in path", path("/${HOME}"), "spec.rules[0].http.paths[0].path"},
		{"sample fetch in path", path("/%[src]"), "spec.rules[0].http.paths[0].path"},
		{"env fetch in exact path", exactPath("/%[env(HOME)]"), "spec.rules[0].http.paths[0].path"},
		{"bad percent escape", path("/a%zz"), "spec.rules[0].http.paths[0].path"},
		{"non-ASCII in path", path("/caf\u00e9"), "spec.rules[0].http.paths[0].path"},
		{"relative path", path("a/b"), "spec.rules[0].http.paths[0].path"},
		{"over-long path", path("/" + strings.Repeat("a", model.MaxPathLength)), "spec.rules[0].http.paths[0].path"},
		{"LF in host", host("h.example\nbackend evil"), "spec.rules[0].host"},
		{"upper-case host", host("H.example"), "spec.rules[0].host"},
		{"env expansion in host", host("${HOME}.example"), "spec.rules[0].host"},
		{"fetch in host", host("%[env(HOME)].example"), "spec.rules[0].host"},
		{"space in host", host("a b.example"), "spec.rules[0].host"},
		{"double wildcard", host("*.*.example"), "spec.rules[0].host"},
		{"inner wildcard", host("a.*.example"), "spec.rules[0].host"},
		{"wildcard on a TLD", host("*.example"), "spec.rules[0].host"},
		{"empty label", host("a..example"), "spec.rules[0].host"},
		{"leading hyphen", host("-a.example"), "spec.rules[0].host"},
		{"underscore host (the host-less key)", host("_"), "spec.rules[0].host"},
		{"slash in host", host("a.example/x"), "spec.rules[0].host"},
		{"colon in host", host("a.example:80"), "spec.rules[0].host"},
		{"over-long host", host(strings.Repeat("a.", 127) + "example"), "spec.rules[0].host"},
		{"IP address as host", host("198.18.0.1"), "spec.rules[0].host"},
		{"IP address with leading zeros as host", host("010.0.0.1"), "spec.rules[0].host"},
		{"IP address as TLS host", hostileIngress(mt.TLS("s", "10.0.0.1"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80))), "spec.tls[0].hosts[0]"},
		{"LF in annotation", annotation(model.AnnotationSSLRedirect, "true\nhttp-request deny"), "metadata.annotations[\"bollard.io/ssl-redirect\"]"},
		{"annotation not a bool", annotation(model.AnnotationSSLRedirect, "%[env(HOME)]"), "metadata.annotations[\"bollard.io/ssl-redirect\"]"},
		{"over-long annotation", annotation(model.AnnotationSSLRedirect, strings.Repeat("t", model.MaxAnnotationLength+1)), "metadata.annotations[\"bollard.io/ssl-redirect\"]"},
		{"config snippet annotation", annotation("bollard.io/config-snippet", "http-request deny"), "metadata.annotations[\"bollard.io/config-snippet\"]"},
		{"LF in service name", hostileIngress(mt.Rule("h.example", mt.Path("Prefix", "/", "svc\nbackend x", 80))), "spec.rules[0].http.paths[0].backend.service.name"},
		{"LF in port name", hostileIngress(mt.Rule("h.example", mt.Path("Prefix", "/", "svc", "http\nx"))), "spec.rules[0].http.paths[0].backend.service.port.name"},
		{"port 0", hostileIngress(mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 0))), "spec.rules[0].http.paths[0].backend.service.port.number"},
		{"port 70000", hostileIngress(mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 70000))), "spec.rules[0].http.paths[0].backend.service.port.number"},
		{"hostile default backend", hostileIngress(mt.DefaultBackend("svc;x", 80)), "spec.defaultBackend.service.name"},
		{"LF in TLS host", hostileIngress(mt.TLS("s", "h.example\nx"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80))), "spec.tls[0].hosts[0]"},
		{"path in secret name", hostileIngress(mt.TLS("../../etc/passwd", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80))), "spec.tls[0].secretName"},
		{"too many paths", tooMany, "spec.rules"},
		{"hostile object name", badName, "metadata.name"},
		{"unknown pathType", func() *networkingv1.Ingress {
			ing := path("/x")
			pt := networkingv1.PathType("Regex")
			ing.Spec.Rules[0].HTTP.Paths[0].PathType = &pt
			return ing
		}(), "spec.rules[0].http.paths[0].path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{healthy(), c.ing}}, options())
			found := false
			for _, r := range rejections {
				if r.Kind == "Ingress" && r.Name == c.ing.Name && r.Field == c.field && !r.Warning {
					found = true
					if strings.ContainsAny(r.Reason, "\n\r\x00") {
						t.Errorf("the reason must not echo control characters: %q", r.Reason)
					}
				}
			}
			if !found {
				t.Errorf("want a rejection of %s, got %v", c.field, rejections)
			}
			hosts := entries(cfg.Maps.Hosts)
			if len(hosts) != 1 || hosts["ok.example"] == "" {
				t.Errorf("only the healthy Ingress may route, hosts %v", hosts)
			}
			if len(cfg.Backends) != 1 || cfg.Backends[0].Name != "ns_ok_80" {
				t.Errorf("only the healthy backend may exist, got %+v", cfg.Backends)
			}
		})
	}
}

func TestHostileSecrets(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"h.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlscert.SelfSigned([]string{"h.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := tlscert.SelfSigned([]string{"h.example"}, now.Add(-48*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	huge := append(append([]byte{}, pair.CertPEM...), []byte(strings.Repeat("A", model.MaxSecretDataBytes))...)
	cases := []struct {
		name       string
		secret     *corev1.Secret
		wantServed bool
		reason     string
	}{
		{"valid", mt.TLSSecret("ns", "s", pair.CertPEM, pair.KeyPEM), true, ""},
		{"malformed PEM", mt.TLSSecret("ns", "s", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), pair.KeyPEM), false, "invalid certificate or key"},
		{"key of another certificate", mt.TLSSecret("ns", "s", pair.CertPEM, other.KeyPEM), false, "invalid certificate or key"},
		{"huge blob", mt.TLSSecret("ns", "s", huge, pair.KeyPEM), false, "the limit is"},
		{"no key", mt.TLSSecret("ns", "s", pair.CertPEM, nil), false, "has no tls.crt and tls.key"},
		{"injection after the PEM", mt.TLSSecret("ns", "s", append(append([]byte{}, pair.CertPEM...), "\nbind :1 \n"...), pair.KeyPEM), true, ""},
		{"expired (served, with a warning)", mt.TLSSecret("ns", "s", expired.CertPEM, expired.KeyPEM), true, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing := mt.Ingress("ns", "i", mt.TLS("s", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
			cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Secrets: []*corev1.Secret{c.secret},
				Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))}}, options())
			if served := len(cfg.Certificates) == 1; served != c.wantServed {
				t.Fatalf("served = %v, want %v (rejections %v)", served, c.wantServed, rejections)
			}
			if c.wantServed {
				pem := string(cfg.Certificates[0].PEM)
				if strings.Contains(pem, "bind") || strings.Count(pem, "-----BEGIN") != 2 {
					t.Errorf("the written PEM must hold only the re-encoded certificate and key:\n%s", pem)
				}
			}
			if c.reason != "" {
				if len(rejections) != 1 || !strings.Contains(rejections[0].Reason, c.reason) || rejections[0].Field != "spec.tls[0].secretName" {
					t.Errorf("want one rejection of spec.tls[0].secretName containing %q, got %v", c.reason, rejections)
				}
			}
			if len(entries(cfg.Maps.Hosts)) != 1 {
				t.Errorf("the routes must keep serving whatever the Secret holds")
			}
		})
	}
}

func TestHostileEndpointSlices(t *testing.T) {
	v6 := mt.Slice("ns", "svc", "v6", "", 8080, mt.Ready("2001:db8::1"))
	bad := mt.Slice("ns", "svc", "bad", "", 8080, mt.Ready("999.1.1.1"), mt.Ready("198.18.0.1\nx"), mt.Ready("0.0.0.0"), mt.Ready("198.18.0.2"))
	badPort := mt.Slice("ns", "svc", "badport", "", 70000, mt.Ready("198.18.0.3"))
	ipv6Slice := mt.Slice("ns", "svc", "mixed6", "", 8080, mt.Ready("198.18.0.4"))
	ipv6Slice.AddressType = discoveryv1.AddressTypeIPv6
	snap := model.Snapshot{
		Ingresses:      []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services:       []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{v6, bad, badPort, ipv6Slice},
	}
	cfg, rejections := model.Build(snap, options())
	be, _ := cfg.Backend("ns_svc_80")
	if len(be.Endpoints) != 1 || be.Endpoints[0].Address.String() != "198.18.0.2" {
		t.Errorf("only the valid address may serve, got %+v", be.Endpoints)
	}
	fields := map[string]bool{}
	for _, r := range rejections {
		fields[r.Name+" "+r.Field] = true
	}
	for _, want := range []string{"v6 endpoints[0].addresses[0]", "bad endpoints[0].addresses[0]", "bad endpoints[1].addresses[0]", "bad endpoints[2].addresses[0]", "badport ports[0].port", "mixed6 endpoints[0].addresses[0]"} {
		if !fields[want] {
			t.Errorf("missing rejection %q in %v", want, rejections)
		}
	}
}

func TestGlobalConfigMap(t *testing.T) {
	opts := options()
	opts.GlobalConfigMap = "bollard/global"
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "bollard", Name: "global"}, Data: map[string]string{
		model.ConfigTimeoutServer:  "2m",
		model.ConfigTimeoutClient:  "30s\ntimeout server 1s",
		model.ConfigSSLRedirect:    "false",
		model.ConfigTimeoutConnect: "0s",
		"config-snippet":           "anything",
	}}
	cfg, rejections := model.Build(model.Snapshot{ConfigMaps: []*corev1.ConfigMap{cm}}, opts)
	def := model.DefaultGlobal()
	if cfg.Global.Timeouts.Server != 2*time.Minute || cfg.Global.SSLRedirect {
		t.Errorf("valid options must apply: %+v", cfg.Global)
	}
	if cfg.Global.Timeouts.Client != def.Timeouts.Client || cfg.Global.Timeouts.Connect != def.Timeouts.Connect {
		t.Errorf("invalid options must keep their defaults: %+v", cfg.Global)
	}
	if len(rejections) != 3 {
		t.Errorf("want 3 rejections (client, connect, unknown key), got %v", rejections)
	}
}
