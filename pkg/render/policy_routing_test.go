package render_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// headerBackend answers "name URI" and, one per line, the request headers
// whose names start with X-Policy.
func headerBackend(t *testing.T, snap *model.Snapshot, name string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Policy") {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		fmt.Fprintf(w, "%s %s", name, r.RequestURI)
		for _, k := range names {
			fmt.Fprintf(w, "\n%s: %s", k, r.Header.Get(k))
		}
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	snap.Services = append(snap.Services, mt.Service("default", name, mt.ServicePort("web", 80)))
	snap.EndpointSlices = append(snap.EndpointSlices, mt.Slice("default", name, name+"-1", "web", int32(p), mt.Ready(host)))
}

type policyResponse struct {
	status int
	header http.Header
	body   string
}

func policyRequest(t *testing.T, client *http.Client, method, url, host string, headers ...string) policyResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, url, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return policyResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// TestPoliciesThroughHAProxy proves each route policy on the real HAProxy
// binary, with the requests that must not be affected beside it. The test
// client is 127.0.0.1, which the access lists below are written around.
func TestPoliciesThroughHAProxy(t *testing.T) {
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.Issue([]string{"p.example", "acme.example"}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	var snap model.Snapshot
	for _, name := range []string{"admin", "open", "site", "api", "moved", "portal", "acme"} {
		headerBackend(t, &snap, name)
	}
	snap.Secrets = append(snap.Secrets, mt.TLSSecret("default", "tls", pair.CertPEM, pair.KeyPEM))
	a := mt.Annotation
	snap.Ingresses = append(snap.Ingresses,
		mt.Ingress("default", "admin", mt.Age(5*time.Minute), a("bollard.io/allow-list", "10.0.0.0/8, 2001:db8::/32"),
			a("bollard.io/hsts", "true"), a("bollard.io/ssl-redirect", "false"),
			a("bollard.io/request-set-headers", "X-Policy-Tenant: blue; \"a b\" %[env(HOME)] ${HOME} #x\nX-Policy-Trace: on"),
			a("bollard.io/response-set-headers", "X-Policy-Answer: 42"),
			mt.TLS("tls", "p.example"), mt.Rule("p.example", mt.Path("Prefix", "/admin", "admin", 80))),
		mt.Ingress("default", "open", mt.Age(4*time.Minute), a("bollard.io/allow-list", "127.0.0.0/8"), a("bollard.io/deny-list", "127.0.0.2"),
			a("bollard.io/hsts", "true"), a("bollard.io/hsts-max-age", "60"), a("bollard.io/hsts-include-subdomains", "false"),
			a("bollard.io/request-set-headers", "X-Policy-Tenant: green; \"a b\" %[env(HOME)] ${HOME} #x %41"),
			a("bollard.io/response-set-headers", "X-Policy-Answer: 42"),
			mt.Rule("p.example", mt.Path("Prefix", "/open", "open", 80))),
		mt.Ingress("default", "site", mt.Age(3*time.Minute), mt.Rule("p.example", mt.Path("Prefix", "/", "site", 80), mt.Path("Prefix", "/admin/public", "site", 80))),
		mt.Ingress("default", "api", mt.Age(2*time.Minute), a("bollard.io/rewrite-target", "/v2/"), a("bollard.io/cors-enable", "true"),
			a("bollard.io/cors-allow-origin", "https://app.example"), a("bollard.io/cors-max-age", "600"),
			mt.Rule("p.example", mt.Path("Prefix", "/api", "api", 80), mt.Path("Exact", "/api-exact", "api", 80))),
		mt.Ingress("default", "moved", mt.Age(time.Minute), a("bollard.io/permanent-redirect", "https://new.example/a%20b?x='1'#f"),
			a("bollard.io/permanent-redirect-code", "308"), mt.Rule("moved.example", mt.Path("Prefix", "/", "moved", 80))),
		mt.Ingress("default", "portal", a("bollard.io/app-root", "/portal/home"), a("bollard.io/cors-enable", "true"),
			mt.Rule("portal.example", mt.Path("Prefix", "/", "portal", 80))),
		mt.Ingress("default", "acme", mt.TLS("tls", "acme.example"),
			mt.Rule("acme.example", mt.Path("Prefix", "/.well-known/acme-challenge", "acme", 80), mt.Path("Prefix", "/", "site", 80))),
	)
	inst := startHAProxy(t, snap, testOptions(t))
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	secure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "p.example"}}}
	get := func(host, path string, headers ...string) policyResponse {
		return policyRequest(t, plain, http.MethodGet, inst.HTTP+path, host, headers...)
	}

	t.Run("access lists after normalisation", func(t *testing.T) {
		for _, c := range []struct {
			host, path string
			status     int
		}{
			{"p.example", "/admin", 403}, {"p.example", "/admin/x", 403}, {"p.example", "//admin/x", 403},
			{"p.example", "/%61dmin/x", 403}, {"p.example", "/./admin", 403}, {"p.example", "/x/../admin", 403},
			{"P.EXAMPLE.", "/admin", 403}, {"p.example:80", "/admin", 403},
			{"p.example", "/admin/public/x", 200}, {"p.example", "/ADMIN", 200}, {"p.example", "/other", 200},
			{"p.example", "/open/x", 200},
		} {
			if got := get(c.host, c.path); got.status != c.status {
				t.Errorf("Host %s %s: %d, want %d (%q)", c.host, c.path, got.status, c.status, got.body)
			}
		}
	})
	t.Run("deny-list wins over allow-list", func(t *testing.T) {
		// 127.0.0.2 is a client address of its own on Linux loopback.
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		from2 := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
		if got := policyRequest(t, from2, http.MethodGet, inst.HTTP+"/open/x", "p.example"); got.status != 403 {
			t.Errorf("127.0.0.2 is in the deny-list: %d, want 403", got.status)
		}
		if got := policyRequest(t, from2, http.MethodGet, inst.HTTP+"/other", "p.example"); got.status != 200 {
			t.Errorf("the route without a policy: %d, want 200", got.status)
		}
	})
	t.Run("request and response headers", func(t *testing.T) {
		got := get("p.example", "/open/x", "X-Policy-Tenant", "client")
		if !strings.Contains(got.body, "\nX-Policy-Tenant: green; \"a b\" %[env(HOME)] ${HOME} #x %41") || got.header.Get("X-Policy-Answer") != "42" {
			t.Errorf("the headers must be set verbatim, replacing the client's: %q %v", got.body, got.header)
		}
		got = get("p.example", "/other", "X-Policy-Tenant", "client")
		if !strings.Contains(got.body, "X-Policy-Tenant: client") || got.header.Get("X-Policy-Answer") != "" {
			t.Errorf("a route without a policy must keep the client's headers and get none: %q %v", got.body, got.header)
		}
	})
	t.Run("hsts only over https", func(t *testing.T) {
		if got := get("p.example", "/open/x"); got.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS over plain HTTP: %q", got.header.Get("Strict-Transport-Security"))
		}
		got := policyRequest(t, secure, http.MethodGet, inst.HTTPS+"/open/x", "p.example")
		if h := got.header.Get("Strict-Transport-Security"); got.status != 200 || h != "max-age=60" {
			t.Errorf("HTTPS: %d HSTS %q, want max-age=60", got.status, h)
		}
		got = policyRequest(t, secure, http.MethodGet, inst.HTTPS+"/other", "p.example")
		if h := got.header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("a route without hsts: %q", h)
		}
	})
	t.Run("rewrite-target", func(t *testing.T) {
		for path, want := range map[string]string{
			"/api": "/v2/", "/api/": "/v2/", "/api/x/y?q=/api": "/v2/x/y?q=/api", "/api//x": "/v2/x", "/api-exact": "/v2/", "/apix": "/apix",
		} {
			wantBackend := "api"
			if path == "/apix" {
				wantBackend = "site"
			}
			if got := get("p.example", path); got.status != 200 || !strings.HasPrefix(got.body, wantBackend+" "+want+"\n") && got.body != wantBackend+" "+want {
				t.Errorf("%s: %d %q, want %s %s", path, got.status, got.body, wantBackend, want)
			}
		}
	})
	t.Run("redirects and app-root", func(t *testing.T) {
		got := get("moved.example", "/x")
		if got.status != 308 || got.header.Get("Location") != "https://new.example/a%20b?x='1'#f" {
			t.Errorf("permanent-redirect: %d %q", got.status, got.header.Get("Location"))
		}
		got = get("portal.example", "/")
		if got.status != 302 || got.header.Get("Location") != "/portal/home" {
			t.Errorf("app-root: %d %q", got.status, got.header.Get("Location"))
		}
		if got = get("portal.example", "/x"); got.status != 200 {
			t.Errorf("app-root applies to / only: %d", got.status)
		}
	})
	t.Run("cors", func(t *testing.T) {
		pre := policyRequest(t, plain, http.MethodOptions, inst.HTTP+"/api/x", "p.example", "Origin", "https://app.example", "Access-Control-Request-Method", "PUT")
		if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" || pre.header.Get("Access-Control-Max-Age") != "600" ||
			!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "PUT") {
			t.Errorf("preflight: %d %v", pre.status, pre.header)
		}
		if pre.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("credentials not allowed: %v", pre.header)
		}
		evil := policyRequest(t, plain, http.MethodOptions, inst.HTTP+"/api/x", "p.example", "Origin", "https://evil.example", "Access-Control-Request-Method", "PUT")
		if evil.header.Get("Access-Control-Allow-Origin") != "" || evil.status == 204 {
			t.Errorf("an origin not listed: %d %v", evil.status, evil.header)
		}
		simple := get("p.example", "/api/x", "Origin", "https://app.example")
		if simple.header.Get("Access-Control-Allow-Origin") != "https://app.example" || simple.header.Get("Vary") != "Origin" {
			t.Errorf("simple request: %v", simple.header)
		}
		any := get("portal.example", "/x", "Origin", "https://z.example")
		if any.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("origin *: %v", any.header)
		}
	})
	t.Run("acme challenge over plain http", func(t *testing.T) {
		if got := get("acme.example", "/.well-known/acme-challenge/token"); got.status != 200 || !strings.HasPrefix(got.body, "acme ") {
			t.Errorf("acme challenge: %d %q, want 200 from the solver", got.status, got.body)
		}
		if got := get("acme.example", "/other"); got.status != 308 {
			t.Errorf("other paths of a TLS host: %d, want 308", got.status)
		}
		if got := get("acme.example", "/.well-known/acme-challengex"); got.status != 308 {
			t.Errorf("a path that only starts like the challenge's: %d, want 308", got.status)
		}
	})
}
