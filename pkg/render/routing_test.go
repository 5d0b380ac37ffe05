package render_test

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// routingFixture serves one backend per Service, each on loopback, and
// returns the snapshot with their Services and EndpointSlices.
func routingFixture(t *testing.T, services ...string) model.Snapshot {
	t.Helper()
	var snap model.Snapshot
	for _, name := range services {
		be := haproxytest.NewBackend(t, name)
		snap.Services = append(snap.Services, mt.Service("default", name, mt.ServicePort("web", 80)))
		snap.EndpointSlices = append(snap.EndpointSlices, mt.Slice("default", name, name+"-1", "web", be.Port, mt.Ready(be.Host)))
	}
	return snap
}

func startHAProxy(t *testing.T, snap model.Snapshot, opts model.Options) *haproxytest.Instance {
	t.Helper()
	// The fixture's backends listen on loopback, which the model refuses
	// unless a prefix names it.
	opts.EndpointCIDRs = append(opts.EndpointCIDRs, netip.MustParsePrefix("127.0.0.0/8"))
	cfg, rejections := model.Build(snap, opts)
	for _, r := range rejections {
		if !r.Warning {
			t.Fatalf("unexpected rejection: %s", r)
		}
	}
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	files, err := render.Render(&cfg, ropts)
	if err != nil {
		t.Fatal(err)
	}
	return haproxytest.Start(t, dir, files, ropts)
}

func testOptions(t *testing.T) model.Options {
	t.Helper()
	fallback, err := tlscert.SelfSigned([]string{"fallback.invalid"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallback.Combined()
	opts.Now = time.Now()
	return opts
}

// TestRoutingThroughHAProxy proves the Ingress semantics on the real HAProxy
// binary, each rule with its negative cases.
func TestRoutingThroughHAProxy(t *testing.T) {
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tlsPair, err := tlscert.Issue([]string{"tls.example"}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	snap := routingFixture(t, "exact-foo", "aaa", "aaabbb", "exact-same", "prefix-same", "wild", "exact-wild",
		"hostless", "per-host", "host-default", "named", "secure", "second")
	snap.Services = append(snap.Services, mt.Service("default", "empty", mt.ServicePort("web", 80)))
	snap.Secrets = append(snap.Secrets, mt.TLSSecret("default", "tls", tlsPair.CertPEM, tlsPair.KeyPEM))
	snap.Ingresses = append(snap.Ingresses,
		mt.Ingress("default", "foo", mt.Rule("foo.example",
			mt.Path("Exact", "/foo", "exact-foo", 80),
			mt.Path("Prefix", "/aaa", "aaa", 80),
			mt.Path("Prefix", "/aaa/bbb/", "aaabbb", 80),
			mt.Path("Exact", "/same", "exact-same", 80),
			mt.Path("Prefix", "/same", "prefix-same", 80),
		)),
		mt.Ingress("default", "foo-merged", mt.Age(time.Minute), mt.Rule("foo.example",
			mt.Path("ImplementationSpecific", "/second", "second", "web"))),
		mt.Ingress("default", "wild", mt.Rule("*.wild.example", mt.Path("Prefix", "/", "wild", 80))),
		mt.Ingress("default", "exact-wild", mt.Rule("a.wild.example", mt.Path("Prefix", "/x", "exact-wild", 80))),
		mt.Ingress("default", "hostless", mt.Rule("", mt.Path("Prefix", "/any", "hostless", 80))),
		mt.Ingress("default", "per-host", mt.DefaultBackend("host-default", 80),
			mt.Rule("dflt.example", mt.Path("Prefix", "/p", "per-host", 80))),
		mt.Ingress("default", "named", mt.Rule("named.example", mt.Path("Prefix", "/", "named", "web"))),
		mt.Ingress("default", "empty", mt.Rule("empty.example", mt.Path("Prefix", "/", "empty", 80))),
		mt.Ingress("default", "secure", mt.TLS("tls", "tls.example"),
			mt.Rule("tls.example", mt.Path("Prefix", "/", "secure", 80))),
	)
	inst := startHAProxy(t, snap, testOptions(t))

	cases := []struct {
		host, path string
		status     int
		backend    string
	}{
		{"foo.example", "/foo", 200, "exact-foo"},
		{"foo.example", "/foo/", 404, ""},
		{"foo.example", "/FOO", 404, ""},
		{"foo.example", "/bar", 404, ""},
		{"foo.example", "/aaa", 200, "aaa"},
		{"foo.example", "/aaa/", 200, "aaa"},
		{"foo.example", "/aaa/bbb", 200, "aaabbb"},
		{"foo.example", "/aaa/bbb/ccc", 200, "aaabbb"},
		{"foo.example", "/aaa/ccc", 200, "aaa"},
		{"foo.example", "/aaaccc", 404, ""},
		{"foo.example", "/AAA", 404, ""},
		{"foo.example", "/aaa?q=/aaa/bbb", 200, "aaa"},
		{"foo.example", "/same", 200, "exact-same"},
		{"foo.example", "/same/x", 200, "prefix-same"},
		{"foo.example", "/second/x", 200, "second"},
		{"FOO.Example:8080", "/aaa", 200, "aaa"},
		{"bar.wild.example", "/z", 200, "wild"},
		{"baz.bar.wild.example", "/z", 404, ""},
		{"wild.example", "/z", 404, ""},
		{"baz.bar.wild.example", "/any", 200, "hostless"},
		{"a.wild.example", "/x", 200, "exact-wild"},
		{"a.wild.example", "/y", 404, ""},
		{"unknown.example", "/any/thing", 200, "hostless"},
		{"unknown.example", "/zzz", 404, ""},
		{"dflt.example", "/p", 200, "per-host"},
		{"dflt.example", "/other", 200, "host-default"},
		{"named.example", "/", 200, "named"},
		{"empty.example", "/", 503, ""},
	}
	for _, c := range cases {
		got := haproxytest.Get(t, inst.HTTP, c.host, c.path)
		if got.Status != c.status {
			t.Errorf("Host %s %s: status %d, want %d (body %q)", c.host, c.path, got.Status, c.status, got.Body)
			continue
		}
		if c.backend != "" && got.Body != c.backend+" "+c.path {
			t.Errorf("Host %s %s: served %q, want backend %s with the raw path", c.host, c.path, got.Body, c.backend)
		}
		if got.Header.Get("Server") == "" || got.Header.Get("Date") == "" {
			t.Errorf("Host %s %s: missing Server or Date header: %v", c.host, c.path, got.Header)
		}
	}
	if got := haproxytest.Get(t, inst.HTTP, "nothing.example", "/"); !strings.Contains(got.Body, "404") {
		t.Errorf("404 body %q should say 404", got.Body)
	}

	// TLS: plain HTTP to a TLS host is redirected; HTTPS serves its certificate.
	got := haproxytest.Get(t, inst.HTTP, "tls.example", "/a?b=c")
	if got.Status != http.StatusPermanentRedirect || got.Header.Get("Location") != "https://tls.example/a?b=c" {
		t.Errorf("HTTP to a TLS host: status %d Location %q, want 308 to https://tls.example/a?b=c", got.Status, got.Header.Get("Location"))
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "tls.example"}, ForceAttemptHTTP2: true}}
	got = haproxytest.Do(t, client, http.MethodGet, inst.HTTPS, "tls.example", "/a")
	if got.Status != 200 || got.Body != "secure /a" {
		t.Errorf("HTTPS tls.example: %d %q, want secure /a", got.Status, got.Body)
	}
	if got.TLS == nil || got.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("HTTPS should negotiate h2 through ALPN, got %+v", got.TLS)
	}
	if got := haproxytest.Get(t, inst.HTTP, "foo.example", "/aaa"); got.Status != 200 {
		t.Errorf("a host without TLS must not be redirected, got %d", got.Status)
	}
}

// TestCatchAllDefaultBackend: an Ingress with only spec.defaultBackend
// serves every host and path that no rule matches.
func TestCatchAllDefaultBackend(t *testing.T) {
	snap := routingFixture(t, "catch-all", "app")
	snap.Ingresses = append(snap.Ingresses,
		mt.Ingress("default", "catch-all", mt.DefaultBackend("catch-all", 80)),
		mt.Ingress("default", "app", mt.Rule("app.example", mt.Path("Exact", "/", "app", 80))),
	)
	inst := startHAProxy(t, snap, testOptions(t))
	for _, c := range []struct{ host, path, want string }{
		{"anything.example", "/x/y", "catch-all"},
		{"", "/", "catch-all"},
		{"app.example", "/", "app"},
		{"app.example", "/other", "catch-all"},
	} {
		got := haproxytest.Get(t, inst.HTTP, c.host, c.path)
		if got.Status != 200 || got.Body != c.want+" "+c.path {
			t.Errorf("Host %q %s: %d %q, want %s", c.host, c.path, got.Status, got.Body, c.want)
		}
	}
}

// TestControllerDefaultBackend: --default-backend-service catches what no
// Ingress matches.
func TestControllerDefaultBackend(t *testing.T) {
	snap := routingFixture(t, "fallback")
	opts := testOptions(t)
	opts.DefaultBackendService = "default/fallback"
	inst := startHAProxy(t, snap, opts)
	if got := haproxytest.Get(t, inst.HTTP, "x.example", "/y"); got.Body != "fallback /y" {
		t.Errorf("got %d %q, want the controller default backend", got.Status, got.Body)
	}
}
