package model_test

import (
	"bytes"
	"encoding/pem"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// annotationField is how a rejection names a bollard.io annotation.
func annotationField(name string) string {
	return `metadata.annotations["bollard.io/` + name + `"]`
}

// optionSnapshot is one Ingress with the given annotations routing
// h.example to Service ns/svc port 80, which has one ready endpoint.
func optionSnapshot(annotations map[string]string) model.Snapshot {
	ing := mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	for k, v := range annotations {
		mt.Annotation(k, v)(ing)
	}
	return model.Snapshot{
		Ingresses:      []*networkingv1.Ingress{ing},
		Services:       []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "svc", "svc-1", "", 8080, mt.Ready("198.18.0.10"))},
	}
}

// HAProxy reads '#' as the start of a comment anywhere on a line and "'"
// as the start of a quoted string: a cookie name or a check path with one
// silently changed the backend (`cookie a#b insert` became `cookie a`) or
// made haproxy -c fail for every backend when the ConfigMap set it.
func TestOptionValuesWithHAProxyQuotingAreRefused(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"affinity-cookie-name", "a#b"},
		{"affinity-cookie-name", "a'b"},
		{"health-check-path", "/a'b"},
		{"health-check-path", "/a#b"},
	} {
		t.Run(c.name+" "+c.value, func(t *testing.T) {
			cfg, rejections := model.Build(optionSnapshot(map[string]string{"bollard.io/affinity": "cookie", "bollard.io/" + c.name: c.value}), options())
			if len(cfg.Served) != 0 {
				t.Errorf("the Ingress must be left out, served %v", cfg.Served)
			}
			assertRejectionField(t, rejections, annotationField(c.name), "")
		})
	}
}

// TestOptionConflictOldestWins: two served Ingresses set different
// timeout-server values for one Service port: the older one's applies, the
// younger gets a Warning naming the annotation as every other rejection
// names it, and both keep serving, whatever the order of the snapshot.
func TestOptionConflictOldestWins(t *testing.T) {
	older := mt.Ingress("ns", "b-older", mt.Annotation("bollard.io/timeout-server", "10s"),
		mt.Rule("old.example", mt.Path("Prefix", "/", "svc", 80)))
	younger := mt.Ingress("ns", "a-younger", mt.Age(time.Hour), mt.Annotation("bollard.io/timeout-server", "20s"),
		mt.Rule("young.example", mt.Path("Prefix", "/", "svc", 80)))
	other := mt.Ingress("ns", "c-other", mt.Age(2*time.Hour), mt.Annotation("bollard.io/load-balance", "leastconn"),
		mt.Rule("other.example", mt.Path("Prefix", "/", "svc", 80)))
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{older, younger, other},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80)), mt.Service("ns", "svc2", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			mt.Slice("ns", "svc", "svc-1", "", 8080, mt.Ready("198.18.0.10"), mt.Ready("198.18.0.11")),
			mt.Slice("ns", "svc", "svc-2", "", 8080, mt.Ready("198.18.0.12")),
		},
	}
	cfg, rejections := model.Build(snap, options())
	if got := entries(cfg.Maps.ServerTimeouts); !reflect.DeepEqual(got, map[string]string{"ns_svc_80": "10000"}) {
		t.Errorf("server timeouts %v, want the older Ingress's 10s", got)
	}
	if be, _ := cfg.Backend("ns_svc_80"); be.Options.Balance != "leastconn" {
		t.Errorf("an option no other Ingress sets applies: %+v", be.Options)
	}
	if want := []string{"ns/a-younger", "ns/b-older", "ns/c-other"}; !reflect.DeepEqual(cfg.Served, want) {
		t.Errorf("served %v, want %v", cfg.Served, want)
	}
	if len(rejections) != 1 {
		t.Fatalf("want one Warning, got %v", rejections)
	}
	r := rejections[0]
	if !r.Warning || r.Kind != "Ingress" || r.Name != "a-younger" || r.Field != annotationField("timeout-server") ||
		!strings.Contains(r.Reason, "ns/b-older") || !strings.Contains(r.Reason, "10s") {
		t.Errorf("want a Warning on the younger Ingress naming %s and the older one, got %+v", annotationField("timeout-server"), r)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		shuffled := snap
		shuffled.Ingresses = slices.Clone(snap.Ingresses)
		shuffled.EndpointSlices = slices.Clone(snap.EndpointSlices)
		shuffled.Services = slices.Clone(snap.Services)
		rng.Shuffle(len(shuffled.Ingresses), func(a, b int) {
			shuffled.Ingresses[a], shuffled.Ingresses[b] = shuffled.Ingresses[b], shuffled.Ingresses[a]
		})
		rng.Shuffle(len(shuffled.EndpointSlices), func(a, b int) {
			shuffled.EndpointSlices[a], shuffled.EndpointSlices[b] = shuffled.EndpointSlices[b], shuffled.EndpointSlices[a]
		})
		rng.Shuffle(len(shuffled.Services), func(a, b int) {
			shuffled.Services[a], shuffled.Services[b] = shuffled.Services[b], shuffled.Services[a]
		})
		got, gotRej := model.Build(shuffled, options())
		if !reflect.DeepEqual(got, cfg) || !reflect.DeepEqual(gotRej, rejections) {
			t.Fatalf("shuffle %d changed the result:\n%+v\n%v", i, got, gotRej)
		}
	}
}

// backendOf builds snap and returns the backend of ns/svc port 80, failing
// on any rejection.
func backendOf(t *testing.T, snap model.Snapshot, opts model.Options) (model.Config, model.Backend) {
	t.Helper()
	cfg, rejections := model.Build(snap, opts)
	if len(rejections) != 0 {
		t.Fatalf("unexpected rejections %v", rejections)
	}
	be, ok := cfg.Backend("ns_svc_80")
	if !ok {
		t.Fatalf("no backend ns_svc_80 in %+v", cfg.Backends)
	}
	return cfg, *be
}

// TestOptionGoodForms: each option's accepted forms become the right model
// field or map entry.
func TestOptionGoodForms(t *testing.T) {
	type check func(t *testing.T, cfg model.Config, be model.Backend)
	directives := func(want model.BackendOptions) check {
		return func(t *testing.T, cfg model.Config, be model.Backend) {
			if be.Options != want {
				t.Errorf("options %+v, want %+v", be.Options, want)
			}
		}
	}
	mapEntry := func(which func(model.Maps) []model.MapEntry, want string) check {
		return func(t *testing.T, cfg model.Config, be model.Backend) {
			got := entries(which(cfg.Maps))
			if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got["ns_svc_80"] != want) {
				t.Errorf("map %v, want ns_svc_80 → %q", got, want)
			}
			if be.Options != (model.BackendOptions{}) {
				t.Errorf("a map option must leave the backend's directives alone: %+v", be.Options)
			}
		}
	}
	server := func(m model.Maps) []model.MapEntry { return m.ServerTimeouts }
	tunnel := func(m model.Maps) []model.MapEntry { return m.TunnelTimeouts }
	body := func(m model.Maps) []model.MapEntry { return m.BodySizes }
	a := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m["bollard.io/"+kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name        string
		annotations map[string]string
		check       check
	}{
		{"no option", nil, directives(model.BackendOptions{})},
		{"timeout-server 30s", a("timeout-server", "30s"), mapEntry(server, "30000")},
		{"timeout-server 1500ms", a("timeout-server", "1500ms"), mapEntry(server, "1500")},
		{"timeout-server 1ms", a("timeout-server", "1ms"), mapEntry(server, "1")},
		{"timeout-server 24h", a("timeout-server", "24h"), mapEntry(server, "86400000")},
		{"timeout-server 1m30s", a("timeout-server", "1m30s"), mapEntry(server, "90000")},
		{"timeout-server equal to the global one", a("timeout-server", "60s"), mapEntry(server, "")},
		{"timeout-tunnel 2h", a("timeout-tunnel", "2h"), mapEntry(tunnel, "7200000")},
		{"timeout-tunnel equal to the global one", a("timeout-tunnel", "1h"), mapEntry(tunnel, "")},
		{"timeout-connect 3s", a("timeout-connect", "3s"), directives(model.BackendOptions{TimeoutConnect: 3 * time.Second})},
		{"timeout-connect equal to the global one", a("timeout-connect", "5s"), directives(model.BackendOptions{})},
		{"proxy-body-size 8m", a("proxy-body-size", "8m"), mapEntry(body, "8388608")},
		{"proxy-body-size 8M", a("proxy-body-size", "8M"), mapEntry(body, "8388608")},
		{"proxy-body-size 512k", a("proxy-body-size", "512k"), mapEntry(body, "524288")},
		{"proxy-body-size 1g", a("proxy-body-size", "1g"), mapEntry(body, "1073741824")},
		{"proxy-body-size 1000", a("proxy-body-size", "1000"), mapEntry(body, "1000")},
		{"proxy-body-size 0 (unlimited)", a("proxy-body-size", "0"), mapEntry(body, "")},
		{"proxy-body-size at the limit", a("proxy-body-size", "1048576g"), mapEntry(body, "1125899906842624")},
		{"backend-protocol HTTP", a("backend-protocol", "HTTP"), directives(model.BackendOptions{})},
		{"backend-protocol HTTPS", a("backend-protocol", "HTTPS"), directives(model.BackendOptions{Protocol: model.ProtocolHTTPS})},
		{"backend-protocol https", a("backend-protocol", "https"), directives(model.BackendOptions{Protocol: model.ProtocolHTTPS})},
		{"backend-protocol H2C", a("backend-protocol", "H2C"), directives(model.BackendOptions{Protocol: model.ProtocolH2C})},
		{"backend-protocol H2", a("backend-protocol", "H2"), directives(model.BackendOptions{Protocol: model.ProtocolH2})},
		{"backend-protocol GRPC is H2C", a("backend-protocol", "GRPC"), directives(model.BackendOptions{Protocol: model.ProtocolH2C})},
		{"backend-protocol GRPCS is H2", a("backend-protocol", "GRPCS"), directives(model.BackendOptions{Protocol: model.ProtocolH2})},
		{"backend-sni a host", a("backend-protocol", "HTTPS", "backend-sni", "api.internal.example"),
			directives(model.BackendOptions{Protocol: model.ProtocolHTTPS, SNI: "api.internal.example"})},
		{"backend-sni host", a("backend-protocol", "H2", "backend-sni", "host"),
			directives(model.BackendOptions{Protocol: model.ProtocolH2, SNI: model.SNIFromRequest})},
		{"load-balance roundrobin", a("load-balance", "roundrobin"), directives(model.BackendOptions{})},
		{"load-balance leastconn", a("load-balance", "leastconn"), directives(model.BackendOptions{Balance: "leastconn"})},
		{"load-balance random", a("load-balance", "random"), directives(model.BackendOptions{Balance: "random"})},
		{"load-balance source", a("load-balance", "source"), directives(model.BackendOptions{Balance: "source"})},
		{"load-balance uri", a("load-balance", "uri"), directives(model.BackendOptions{Balance: "uri"})},
		{"health-check-path alone (interval 2s)", a("health-check-path", "/healthz"),
			directives(model.BackendOptions{HealthCheckPath: "/healthz", HealthCheckInterval: model.DefaultHealthCheckInterval})},
		{"health-check-path with a query", a("health-check-path", "/ready?full=1&x=%2F"),
			directives(model.BackendOptions{HealthCheckPath: "/ready?full=1&x=%2F", HealthCheckInterval: 2 * time.Second})},
		{"health-check-interval alone (TCP check)", a("health-check-interval", "5s"),
			directives(model.BackendOptions{HealthCheckInterval: 5 * time.Second})},
		{"health-check-path and interval", a("health-check-path", "/", "health-check-interval", "500ms"),
			directives(model.BackendOptions{HealthCheckPath: "/", HealthCheckInterval: 500 * time.Millisecond})},
		{"affinity cookie, default name", a("affinity", "cookie"), directives(model.BackendOptions{AffinityCookie: model.DefaultAffinityCookie})},
		{"affinity cookie, named", a("affinity", "cookie", "affinity-cookie-name", "SERVERID"), directives(model.BackendOptions{AffinityCookie: "SERVERID"})},
		{"affinity cookie, token characters", a("affinity", "cookie", "affinity-cookie-name", "a!$%&*+-.^_`|~9"), directives(model.BackendOptions{AffinityCookie: "a!$%&*+-.^_`|~9"})},
		{"affinity none", a("affinity", "none", "affinity-cookie-name", "X"), directives(model.BackendOptions{})},
		{"affinity-cookie-name without affinity", a("affinity-cookie-name", "X"), directives(model.BackendOptions{})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, be := backendOf(t, optionSnapshot(c.annotations), options())
			if len(be.Endpoints) != 1 {
				t.Errorf("the backend must keep its endpoint: %+v", be.Endpoints)
			}
			c.check(t, cfg, be)
		})
	}
}

// TestSSLRedirectAnnotation: the route option's good forms.
func TestSSLRedirectAnnotation(t *testing.T) {
	for _, c := range []struct {
		value    string
		redirect bool
	}{{"true", true}, {"false", false}, {"1", true}, {"0", false}, {"TRUE", true}, {"False", false}} {
		snap := optionSnapshot(map[string]string{model.AnnotationSSLRedirect: c.value})
		mt.TLS("", "h.example")(snap.Ingresses[0])
		opts := options()
		opts.FallbackCertificate = fallbackCombined(t)
		cfg, rejections := model.Build(snap, opts)
		for _, r := range rejections {
			if !r.Warning {
				t.Errorf("%s: unexpected rejection %s", c.value, r)
			}
		}
		if got := len(cfg.Maps.Redirects) == 1; got != c.redirect {
			t.Errorf("ssl-redirect %q: redirects %v", c.value, cfg.Maps.Redirects)
		}
	}
}

func fallbackCombined(t *testing.T) []byte {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"fallback.invalid"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Combined()
}

// withConfigMap adds the global ConfigMap bollard/global with data.
func withConfigMap(snap model.Snapshot, opts *model.Options, data map[string]string) model.Snapshot {
	opts.GlobalConfigMap = "bollard/global"
	snap.ConfigMaps = append(snap.ConfigMaps, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "bollard", Name: "global"}, Data: data})
	return snap
}

// withServiceAnnotations sets annotations on the Service ns/svc of snap.
func withServiceAnnotations(snap model.Snapshot, annotations map[string]string) model.Snapshot {
	for _, s := range snap.Services {
		if s.Name == "svc" {
			s.Annotations = annotations
		}
	}
	return snap
}

// TestOptionPrecedence: Ingress > Service > ConfigMap > built-in default,
// for a directive option (load-balance), a map option (proxy-body-size)
// and the timeout that the ConfigMap sets globally (timeout-server).
func TestOptionPrecedence(t *testing.T) {
	type layers struct{ ingress, service, configMap string }
	build := func(t *testing.T, name string, l layers) (model.Config, model.Backend) {
		t.Helper()
		opts := options()
		var ing map[string]string
		if l.ingress != "" {
			ing = map[string]string{"bollard.io/" + name: l.ingress}
		}
		snap := optionSnapshot(ing)
		if l.service != "" {
			snap = withServiceAnnotations(snap, map[string]string{"bollard.io/" + name: l.service})
		}
		if l.configMap != "" {
			snap = withConfigMap(snap, &opts, map[string]string{name: l.configMap})
		}
		return backendOf(t, snap, opts)
	}
	for _, c := range []struct {
		name string
		l    layers
		want string
	}{
		{"built-in", layers{}, ""},
		{"ConfigMap over built-in", layers{configMap: "source"}, "source"},
		{"Service over ConfigMap", layers{service: "leastconn", configMap: "source"}, "leastconn"},
		{"Service over built-in", layers{service: "leastconn"}, "leastconn"},
		{"Ingress over Service", layers{ingress: "random", service: "leastconn", configMap: "source"}, "random"},
		{"Ingress over ConfigMap", layers{ingress: "uri", configMap: "source"}, "uri"},
		{"Ingress roundrobin over Service", layers{ingress: "roundrobin", service: "leastconn"}, ""},
	} {
		t.Run("load-balance "+c.name, func(t *testing.T) {
			if _, be := build(t, "load-balance", c.l); be.Options.Balance != c.want {
				t.Errorf("balance %q, want %q", be.Options.Balance, c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		l    layers
		want string // the body-size.map value, "" for none
	}{
		{"built-in (unlimited)", layers{}, ""},
		{"ConfigMap over built-in", layers{configMap: "1m"}, "1048576"},
		{"Service over ConfigMap", layers{service: "2m", configMap: "1m"}, "2097152"},
		{"Ingress over Service", layers{ingress: "3m", service: "2m", configMap: "1m"}, "3145728"},
		{"Ingress unlimited over ConfigMap", layers{ingress: "0", configMap: "1m"}, ""},
		{"Service unlimited over ConfigMap", layers{service: "0", configMap: "1m"}, ""},
	} {
		t.Run("proxy-body-size "+c.name, func(t *testing.T) {
			cfg, _ := build(t, "proxy-body-size", c.l)
			got := entries(cfg.Maps.BodySizes)["ns_svc_80"]
			if got != c.want || c.want == "" && len(cfg.Maps.BodySizes) != 0 {
				t.Errorf("body sizes %v, want ns_svc_80 → %q", cfg.Maps.BodySizes, c.want)
			}
		})
	}
	for _, c := range []struct {
		name   string
		l      layers
		global time.Duration
		want   string // the timeout-server.map value, "" for none
	}{
		{"built-in", layers{}, 60 * time.Second, ""},
		{"ConfigMap sets the global timeout, no map entry", layers{configMap: "2m"}, 2 * time.Minute, ""},
		{"Service over ConfigMap", layers{service: "30s", configMap: "2m"}, 2 * time.Minute, "30000"},
		{"Ingress over Service", layers{ingress: "10s", service: "30s", configMap: "2m"}, 2 * time.Minute, "10000"},
		{"Ingress equal to the ConfigMap's global: no entry", layers{ingress: "2m", configMap: "2m"}, 2 * time.Minute, ""},
		{"Service equal to the built-in global: no entry", layers{service: "60s"}, 60 * time.Second, ""},
		{"Ingress at the built-in value over the ConfigMap", layers{ingress: "60s", configMap: "2m"}, 2 * time.Minute, "60000"},
	} {
		t.Run("timeout-server "+c.name, func(t *testing.T) {
			cfg, _ := build(t, "timeout-server", c.l)
			if cfg.Global.Timeouts.Server != c.global {
				t.Errorf("global timeout server %v, want %v", cfg.Global.Timeouts.Server, c.global)
			}
			got := entries(cfg.Maps.ServerTimeouts)["ns_svc_80"]
			if got != c.want || c.want == "" && len(cfg.Maps.ServerTimeouts) != 0 {
				t.Errorf("server timeouts %v, want ns_svc_80 → %q", cfg.Maps.ServerTimeouts, c.want)
			}
		})
	}
	t.Run("timeout-connect Service over ConfigMap", func(t *testing.T) {
		cfg, be := build(t, "timeout-connect", layers{service: "2s", configMap: "4s"})
		if cfg.Global.Timeouts.Connect != 4*time.Second || be.Options.TimeoutConnect != 2*time.Second {
			t.Errorf("global %v, backend %v", cfg.Global.Timeouts.Connect, be.Options.TimeoutConnect)
		}
	})
}

// TestHostileOptionValues: a hostile value of any option leaves the Ingress
// out with a rejection of its annotation, and nothing of it reaches the
// rendered files: they are those of the healthy Ingress alone.
func TestHostileOptionValues(t *testing.T) {
	everywhere := []string{
		"30s\r\nhttp-request deny", "1\nbackend evil", "a b", "%[env(HOME)]", "${X}", "#x", `"x"`, "'x'", `a\b`,
		strings.Repeat("9", model.MaxAnnotationLength+1), "caf\u00e9", "\u202e1s", "x\x00", "",
	}
	cidrs := []string{"10.0.0.0/33", "10.0.0.0/8/8", "10.0.0.256", "fe80::1%eth0", "10.0.0.0 /8", "10.0.0.0/8;1.2.3.4", ",", "any", "::/129", strings.Repeat("10.0.0.1,", 257)}
	limits := []string{"0", "-1", "1.5", "1e3", "1000001", "10 ", "ten", "0x10"}
	headers := []string{"X-A", ": v", "X A: v", "Host: evil", "SSL-Client-Verify: SUCCESS", "ssl-client-subject-dn: CN=admin", "content-length: 0", "Transfer-Encoding: chunked", "Connection: close", "X-Forwarded-For: 1.2.3.4",
		"X-A: a\x00b", "X-A: a\rb", "X-A: a\x7fb", "X-A:", "X#A: v", "X'A: v", "X%A: v", "X$A: v", "X(A): v", "X-A: 1\nX-A: 2", "X-A: " + strings.Repeat("v", 1025), "Caf\u00e9: v"}
	paths := []string{"api", "//evil.example/x", "/a b", "/%[env(HOME)]", "/${X}", "/a#b", `/a"b`, `/a\b`, "/a'b", "/caf\u00e9", "/a\r\nb", "/%zz", "/" + strings.Repeat("a", 1025)}
	urls := []string{"/relative", "example.com", "javascript:alert(1)", "ftp://a.example/", "https://", "https://a b.example/", "https://a.example/x y", "https://a.example/\r\nSet-Cookie: x",
		"https://user:pw@a.example/", "https://a_b.example/", "//a.example/x", "https://a.example/caf\u00e9", "https://a.example/" + strings.Repeat("x", 2048)}
	duration := []string{"-1s", "-1", "25h", "24h1ms", "1.5ms", "0", "0s", "30", "1e3s", "9999999999999999999h", "100us", "1h\t"}
	byType := map[string][]string{
		"ssl-redirect":            {"yes", "-1", "tru e", "true\n"},
		"timeout-server":          duration,
		"timeout-connect":         duration,
		"timeout-tunnel":          duration,
		"health-check-interval":   duration,
		"backend-protocol":        {"HTTP/2", "grpc-web", "-1", "h2 ssl", "HTTPS verify none"},
		"backend-ca-secret":       {"../ca", "CA", "ca_secret", "-ca", strings.Repeat("a", 254)},
		"backend-sni":             {"*.example.com", "a_b.example", "Upper.example", "h.example:443", "-a.example", "h..example", "str(h)"},
		"load-balance":            {"Roundrobin", "hdr(host)", "-1", "leastconn ", "static-rr"},
		"health-check-path":       {"healthz", "/a b", "/%[env(HOME)]", "/${X}", "/a#b", `/a"b`, `/a\b`, "/a'b", "/caf\u00e9", "/a\r\nb", "/%zz", "/" + strings.Repeat("a", 256)},
		"affinity":                {"Cookie", "cookies", "-1", "source"},
		"affinity-cookie-name":    {"a;b", "a=b", "a,b", "a:b", "(a)", "a/b", "a@b", strings.Repeat("c", 65), "a#b", "a'b"},
		"allow-list":              cidrs,
		"deny-list":               cidrs,
		"limit-rps":               limits,
		"limit-connections":       limits,
		"cors-enable":             {"yes", "1 ", "on"},
		"cors-allow-origin":       {"example.com", "https://", "https://a.example/path", "ftp://a.example", "https://a.example, *", "https://user@a.example", "https://a_b.example", "https://a.example?x", "null"},
		"cors-allow-methods":      {"GET;POST", "GET POST", "GE(T", "GET,\"X\"", "{GET}"},
		"cors-allow-headers":      {"X-A;B", "X-A B", "X-A:1", "@", "X\x7f"},
		"cors-allow-credentials":  {"yes", "t rue"},
		"cors-max-age":            {"-1", "1.5", "1e3", "315360001", "1s"},
		"hsts":                    {"yes", "on"},
		"hsts-max-age":            {"-1", "1y", "99999999999", "0x10"},
		"hsts-include-subdomains": {"yes", "off"},
		"hsts-preload":            {"yes", "off"},
		"request-set-headers":     headers,
		"response-set-headers":    headers,
		"rewrite-target":          paths,
		"app-root":                append(slices.Clone(paths), "/a?b c"),
		"permanent-redirect":      urls,
		"permanent-redirect-code": {"300", "304", "200", "301 ", "3O1", "-301"},
		"temporal-redirect":       urls,
		"auth-tls-secret":         {"../ca", "CA", "ca_secret", "-ca", "missing", strings.Repeat("a", 254), "ns/ca"},
		"auth-tls-verify-client":  {"On", "required", "optional_no_ca", "1", "off ", "true"},
		"auth-type":               {"Basic", "digest", "basic ", "none", "basic\n"},
		"auth-secret":             {"../users", "Users", "users_1", "-users", "missing", "broken", "empty"},
		"auth-realm":              {"a\tb", "x\x7f", "x\x1b[31m", strings.Repeat("r", 65), "a\"b", "100%", "caf\u00e9"},
		"proxy-body-size":         {"-1", "-1k", "1.5m", "1t", "k", "8 m", "99999999999999999999", "1048577g", "1125899906842625", "9223372036854775807", "0x10", "+5"},
	}
	healthy := func() *networkingv1.Ingress {
		return mt.Ingress("ns", "healthy", mt.Rule("ok.example", mt.Path("Prefix", "/", "ok", 80)))
	}
	services := []*corev1.Service{mt.Service("ns", "ok", mt.ServicePort("", 80)), mt.Service("ns", "svc", mt.ServicePort("", 80))}
	renderAll := func(t *testing.T, cfg *model.Config) []render.File {
		t.Helper()
		files, err := render.Render(cfg, render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	authSecrets := []*corev1.Secret{
		mt.AuthSecret("ns", "users", "alice:"+mt.HashSHA512+"\n"),
		mt.AuthSecret("ns", "broken", "alice:"+mt.HashSHA512+"\nbob:"+mt.HashAPR1+"\n"),
		mt.AuthSecret("ns", "empty", "\n"),
	}
	opts := options()
	opts.FallbackCertificate = fallbackCombined(t)
	baseCfg, _ := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{healthy()}, Services: services, AuthSecrets: authSecrets}, opts)
	baseline := renderAll(t, &baseCfg)
	for _, opt := range model.OptionTable() {
		if opt.Annotation() == "" {
			continue
		}
		values := append(slices.Clone(everywhere), byType[opt.Name]...)
		if len(byType[opt.Name]) == 0 {
			t.Errorf("no hostile values of the type of %s", opt.Name)
		}
		for _, value := range values {
			if opt.Name == "auth-realm" && value == "a b" {
				continue // a valid realm
			}
			t.Run(opt.Name+" "+strconv.Quote(value), func(t *testing.T) {
				ing := mt.Ingress("ns", "hostile", mt.Annotation("bollard.io/backend-protocol", "HTTPS"), mt.Annotation("bollard.io/affinity", "cookie"),
					// The auth options are checked with the others set.
					mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", "users"),
					mt.Annotation(opt.Annotation(), value), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
				cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{healthy(), ing}, Services: services, AuthSecrets: authSecrets}, opts)
				var found bool
				for _, r := range rejections {
					if r.Kind != "Ingress" || r.Name != "hostile" || r.Warning {
						t.Errorf("unexpected rejection %s", r)
						continue
					}
					found = found || r.Field == annotationField(opt.Name)
					if strings.ContainsAny(r.Reason, "\r\n\x00") || strings.ContainsAny(r.Field, "\r\n\x00") {
						t.Errorf("the rejection must not echo control characters: %q", r)
					}
				}
				if !found {
					t.Errorf("want a rejection of %s, got %v", annotationField(opt.Name), rejections)
				}
				if !reflect.DeepEqual(cfg.Served, []string{"ns/healthy"}) {
					t.Errorf("served %v, want only ns/healthy", cfg.Served)
				}
				files := renderAll(t, &cfg)
				if !reflect.DeepEqual(files, baseline) {
					t.Errorf("the rendered files differ from those of the healthy Ingress alone")
				}
				// Short or common values ("a b", "healthz") are in the
				// base template already; the comparison above covers them.
				if len(value) >= 3 && !carries(baseline, value) && carries(files, value) {
					t.Errorf("the rendered files carry the value")
				}
			})
		}
	}
}

func carries(files []render.File, value string) bool {
	for _, f := range files {
		if strings.Contains(string(f.Data), value) {
			return true
		}
	}
	return false
}

// TestServiceOptionProblems: a bad annotation on a Service is rejected
// there, its routes answer 503 (the backend has no endpoints) and the
// Ingress that routes to it gets a Warning; a route option is refused on a
// Service.
func TestServiceOptionProblems(t *testing.T) {
	for _, c := range []struct {
		name, key, value, reason string
	}{
		{"bad value", "bollard.io/timeout-server", "forever", "not a duration"},
		{"route option on a Service", model.AnnotationSSLRedirect, "false", "Ingress annotation"},
		{"unknown annotation", "bollard.io/config-snippet", "x", "unknown Bollard annotation"},
		{"missing CA Secret", "bollard.io/backend-ca-secret", "nope", "not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := withServiceAnnotations(optionSnapshot(nil), map[string]string{c.key: c.value, "bollard.io/load-balance": "leastconn"})
			cfg, rejections := model.Build(snap, options())
			be, ok := cfg.Backend("ns_svc_80")
			if !ok || len(be.Endpoints) != 0 {
				t.Errorf("the backend must exist without endpoints (503), got %+v", be)
			}
			if !reflect.DeepEqual(cfg.Served, []string{"ns/i"}) || len(cfg.Maps.Hosts) != 1 {
				t.Errorf("the Ingress keeps its routes: served %v, hosts %v", cfg.Served, cfg.Maps.Hosts)
			}
			var onService, onIngress bool
			for _, r := range rejections {
				switch {
				case r.Kind == "Service" && r.Name == "svc" && !r.Warning && r.Field == `metadata.annotations["`+c.key+`"]` && strings.Contains(r.Reason, c.reason):
					onService = true
				case r.Kind == "Ingress" && r.Name == "i" && r.Warning && r.Field == "spec.rules[0].http.paths[0].backend.service" &&
					strings.Contains(r.Reason, c.key) && strings.Contains(r.Reason, "503"):
					onIngress = true
				default:
					t.Errorf("unexpected rejection %s", r)
				}
			}
			if !onService || !onIngress {
				t.Errorf("want a rejection on the Service (%v) and a Warning on the Ingress (%v): %v", onService, onIngress, rejections)
			}
		})
	}
}

// caSecret is a kubernetes.io/tls Secret ns/name whose ca.crt is caPEM
// (nil: no ca.crt).
func caSecret(t *testing.T, name string, caPEM []byte) *corev1.Secret {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"x.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := mt.TLSSecret("ns", name, pair.CertPEM, pair.KeyPEM)
	if caPEM != nil {
		s.Data["ca.crt"] = caPEM
	}
	return s
}

func TestBackendCASecret(t *testing.T) {
	ca, err := tlscert.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(ca.Pair.CertPEM)
	reencoded := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	tlsAnnotations := map[string]string{"bollard.io/backend-protocol": "HTTPS", "bollard.io/backend-ca-secret": "ca", "bollard.io/backend-sni": "api.example"}

	t.Run("good", func(t *testing.T) {
		// Text around the PEM and a key block are dropped.
		messy := append(append([]byte("junk\nbind :1\n"), ca.Pair.CertPEM...), ca.Pair.KeyPEM...)
		snap := optionSnapshot(tlsAnnotations)
		snap.Secrets = []*corev1.Secret{caSecret(t, "ca", messy)}
		cfg, be := backendOf(t, snap, options())
		if len(cfg.BackendCAs) != 1 || !bytes.Equal(cfg.BackendCAs[0].PEM, reencoded) || cfg.BackendCAs[0].Secret != "ns/ca" {
			t.Fatalf("backend CAs %+v, want the re-encoded certificate", cfg.BackendCAs)
		}
		want := model.BackendOptions{Protocol: model.ProtocolHTTPS, CAFile: cfg.BackendCAs[0].FileName, SNI: "api.example"}
		if be.Options != want {
			t.Errorf("options %+v, want %+v", be.Options, want)
		}
	})
	for _, c := range []struct {
		name    string
		secret  *corev1.Secret
		missing bool
		reason  string
	}{
		{"missing Secret", nil, true, "not found"},
		{"no ca.crt", caSecret(t, "ca", nil), false, "has no ca.crt"},
		{"garbage ca.crt", caSecret(t, "ca", []byte("garbage\nbind :1\n")), false, "no PEM certificate"},
		{"bad certificate in ca.crt", caSecret(t, "ca", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})), false, "invalid certificate"},
		{"only a key in ca.crt", caSecret(t, "ca", ca.Pair.KeyPEM), false, "no PEM certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := optionSnapshot(tlsAnnotations)
			if c.secret != nil {
				snap.Secrets = []*corev1.Secret{c.secret}
			}
			cfg, rejections := model.Build(snap, options())
			if len(cfg.Served) != 0 || len(cfg.BackendCAs) != 0 {
				t.Errorf("the Ingress must be left out: served %v, CAs %v", cfg.Served, cfg.BackendCAs)
			}
			if len(rejections) != 1 || rejections[0].Field != annotationField("backend-ca-secret") || rejections[0].Warning ||
				rejections[0].Missing != c.missing || !strings.Contains(rejections[0].Reason, c.reason) {
				t.Errorf("want one rejection of %s (missing %v, %q), got %+v", annotationField("backend-ca-secret"), c.missing, c.reason, rejections)
			}
		})
	}
	t.Run("on an HTTP backend", func(t *testing.T) {
		snap := optionSnapshot(map[string]string{"bollard.io/backend-ca-secret": "ca", "bollard.io/backend-sni": "api.example"})
		snap.Secrets = []*corev1.Secret{caSecret(t, "ca", ca.Pair.CertPEM)}
		cfg, rejections := model.Build(snap, options())
		be, _ := cfg.Backend("ns_svc_80")
		if len(cfg.BackendCAs) != 0 || be.Options != (model.BackendOptions{}) || len(cfg.Served) != 1 {
			t.Errorf("no CA, no SNI, still served: CAs %v, options %+v, served %v", cfg.BackendCAs, be.Options, cfg.Served)
		}
		fields := map[string]bool{}
		for _, r := range rejections {
			if !r.Warning || r.Name != "i" {
				t.Errorf("unexpected rejection %s", r)
			}
			fields[r.Field] = true
		}
		if !fields[annotationField("backend-ca-secret")] || !fields[annotationField("backend-sni")] || len(fields) != 2 {
			t.Errorf("want Warnings on backend-ca-secret and backend-sni, got %v", rejections)
		}
	})
}

// TestConfigMapBackendDefaults: every backend option of the table is
// accepted as a ConfigMap default; an unknown key, a key that is no
// ConfigMap option and a bad value are rejected and the rest applies.
func TestConfigMapBackendDefaults(t *testing.T) {
	good := map[string]string{
		"timeout-server": "2m", "timeout-connect": "4s", "timeout-tunnel": "2h", "backend-protocol": "GRPCS",
		"backend-sni": "host", "load-balance": "leastconn", "health-check-path": "/ready", "health-check-interval": "3s",
		"affinity": "cookie", "affinity-cookie-name": "S", "proxy-body-size": "16m",
	}
	for _, opt := range model.OptionTable() {
		if opt.Scope == model.ScopeBackend && opt.ConfigMap && good[opt.Name] == "" {
			t.Errorf("no ConfigMap value for the backend option %s", opt.Name)
		}
		if opt.Scope == model.ScopeBackend && !opt.ConfigMap && opt.Name != "backend-ca-secret" {
			t.Errorf("%s is not a ConfigMap option", opt.Name)
		}
	}
	opts := options()
	cfg, be := backendOf(t, withConfigMap(optionSnapshot(nil), &opts, good), opts)
	g := cfg.Global.Timeouts
	if g.Server != 2*time.Minute || g.Connect != 4*time.Second || g.Tunnel != 2*time.Hour {
		t.Errorf("global timeouts %+v", g)
	}
	want := model.BackendOptions{Protocol: model.ProtocolH2, SNI: model.SNIFromRequest, Balance: "leastconn",
		HealthCheckPath: "/ready", HealthCheckInterval: 3 * time.Second, AffinityCookie: "S"}
	if be.Options != want {
		t.Errorf("options %+v, want %+v", be.Options, want)
	}
	if got := entries(cfg.Maps.BodySizes); !reflect.DeepEqual(got, map[string]string{"ns_svc_80": "16777216"}) {
		t.Errorf("body sizes %v", got)
	}
	if len(cfg.Maps.ServerTimeouts)+len(cfg.Maps.TunnelTimeouts) != 0 {
		t.Errorf("the ConfigMap's timeouts are global, no map entries: %v %v", cfg.Maps.ServerTimeouts, cfg.Maps.TunnelTimeouts)
	}

	opts = options()
	snap := withConfigMap(optionSnapshot(nil), &opts, map[string]string{
		"load-balance": "fastest", "no-such-key": "1", "backend-ca-secret": "ca", "health-check-path": "/ok", "proxy-body-size": "1k",
	})
	cfg, rejections := model.Build(snap, opts)
	fields := map[string]bool{}
	for _, r := range rejections {
		if r.Kind != "ConfigMap" || r.Warning {
			t.Errorf("unexpected rejection %s", r)
		}
		fields[r.Field] = true
	}
	for _, f := range []string{`data["load-balance"]`, `data["no-such-key"]`, `data["backend-ca-secret"]`} {
		if !fields[f] {
			t.Errorf("no rejection of %s in %v", f, rejections)
		}
	}
	be2, _ := cfg.Backend("ns_svc_80")
	if be2.Options != (model.BackendOptions{HealthCheckPath: "/ok", HealthCheckInterval: 2 * time.Second}) || len(cfg.Served) != 1 {
		t.Errorf("the good keys must apply: %+v, served %v", be2.Options, cfg.Served)
	}
	if got := entries(cfg.Maps.BodySizes); got["ns_svc_80"] != "1024" {
		t.Errorf("body sizes %v", got)
	}
}

// Equivalent spellings of one value give byte-identical files, so that
// rewriting an annotation in another form is not a change (no reload, no
// map update) and replicas agree.
func TestEquivalentOptionValuesRenderAlike(t *testing.T) {
	for _, forms := range [][]map[string]string{
		{{"bollard.io/timeout-server": "1s"}, {"bollard.io/timeout-server": "1000ms"}, {"bollard.io/timeout-server": "0h0m0.5s500ms"}},
		{{"bollard.io/proxy-body-size": "8m"}, {"bollard.io/proxy-body-size": "8192k"}, {"bollard.io/proxy-body-size": "8388608"}, {"bollard.io/proxy-body-size": "8M"}},
		{{"bollard.io/backend-protocol": "GRPC"}, {"bollard.io/backend-protocol": "h2c"}, {"bollard.io/backend-protocol": "grpc"}},
		{{"bollard.io/backend-protocol": "GRPCS"}, {"bollard.io/backend-protocol": "H2"}},
		{{"bollard.io/backend-protocol": "HTTP"}, {}},
		{{"bollard.io/load-balance": "roundrobin"}, {}},
		{{"bollard.io/affinity": "none"}, {}},
		{{"bollard.io/timeout-server": "60s"}, {}}, // the global default: no map entry
		{{"bollard.io/health-check-path": "/healthz"}, {"bollard.io/health-check-path": "/healthz", "bollard.io/health-check-interval": "2s"}},
	} {
		fallback := fallbackCombined(t)
		var first []render.File
		for i, annotations := range forms {
			opts := options()
			opts.FallbackCertificate = fallback
			cfg, rejections := model.Build(optionSnapshot(annotations), opts)
			if len(rejections) != 0 {
				t.Fatalf("%v: %v", annotations, rejections)
			}
			files, err := render.Render(&cfg, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = files
				continue
			}
			if !reflect.DeepEqual(files, first) {
				t.Errorf("%v renders differently from %v", annotations, forms[0])
			}
		}
	}
}
