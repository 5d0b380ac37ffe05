package conformance

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestRoutePolicies: the bollard.io route policies (issue 15), one row
// each. The test client reaches HAProxy from 127.0.0.1. e2e/policies
// proves the reload-free changes; this is what each policy does.
func TestRoutePolicies(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-policy")
	var getFrom func(host, path string, header ...string) *framework.Response
	cluster.Echo(t, ns, "app", 1)
	ca := cluster.CreateIssuedTLSSecret(t, ns, "pol-tls", "pol.example")
	cluster.CreateIssuedTLSSecret(t, ns, "acme-tls", "acme.example")
	// Every Ingress of pol.example serves plain HTTP too (ssl-redirect
	// false): the policies are checked over HTTP, HSTS over both.
	ingressOn := func(host, secret, name, annotations, path string) string {
		tls := ""
		if secret != "" {
			tls = "\n  tls: [{hosts: [" + host + "], secretName: " + secret + "}]"
		}
		return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ` + name + `, annotations: {` + annotations + `}}
spec:
  ingressClassName: bollard` + tls + `
  rules:
  - host: ` + host + `
    http:
      paths:
      - {path: ` + path + `, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
`
	}
	ingress := func(name, annotations, path, _ string) string {
		if annotations != "" {
			annotations += ", "
		}
		return ingressOn("pol.example", "pol-tls", name, annotations+`bollard.io/ssl-redirect: "false"`, path)
	}
	cluster.MustApply(t, ns, ingress("site", "", "/", "Prefix"))
	cluster.MustApply(t, ns, ingress("admin", `bollard.io/allow-list: "10.0.0.0/8"`, "/admin", "Prefix"))
	cluster.MustApply(t, ns, ingress("open", `bollard.io/allow-list: "127.0.0.0/8", bollard.io/deny-list: "127.0.0.2"`, "/open", "Prefix"))
	cluster.MustApply(t, ns, ingress("deny", `bollard.io/deny-list: "127.0.0.1"`, "/deny", "Prefix"))
	cluster.MustApply(t, ns, ingress("rps", `bollard.io/limit-rps: "3"`, "/rps", "Prefix"))
	cluster.MustApply(t, ns, ingress("conns", `bollard.io/limit-connections: "1"`, "/conns", "Prefix"))
	cluster.MustApply(t, ns, ingress("cors", `bollard.io/cors-enable: "true", bollard.io/cors-allow-origin: "https://app.example"`, "/cors", "Prefix"))
	cluster.MustApply(t, ns, ingress("hsts", `bollard.io/hsts: "true"`, "/hsts", "Prefix"))
	cluster.MustApply(t, ns, ingress("headers", `bollard.io/request-set-headers: "X-Conf-Req: a; \"b\" %[env(HOME)]", bollard.io/response-set-headers: "X-Conf-Resp: yes"`, "/headers", "Prefix"))
	cluster.MustApply(t, ns, ingress("rewrite", `bollard.io/rewrite-target: "/"`, "/api", "Prefix"))
	cluster.MustApply(t, ns, ingress("moved", `bollard.io/permanent-redirect: "https://new.example/x"`, "/moved", "Prefix"))
	cluster.MustApply(t, ns, ingress("temp", `bollard.io/temporal-redirect: "https://tmp.example/"`, "/temp", "Prefix"))
	cluster.MustApply(t, ns, ingressOn("acme.example", "acme-tls", "acme", "", "/.well-known/acme-challenge"))
	cluster.MustApply(t, ns, ingressOn("acme.example", "acme-tls", "acme-site", "", "/"))
	cluster.MustApply(t, ns, ingressOn("root.example", "", "approot", `bollard.io/app-root: "/portal", bollard.io/ssl-redirect: "false"`, "/"))
	for _, p := range []string{"/", "/open/x", "/rps", "/cors", "/hsts", "/headers", "/api/x", "/conns"} {
		expectService(t, b, "pol.example", p, "app")
	}
	get := func(path string, header ...string) *framework.Response {
		t.Helper()
		return getFrom("pol.example", path, header...)
	}
	getFrom = func(host, path string, header ...string) *framework.Response {
		t.Helper()
		r := b.Request(host, path)
		r.Header = http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		resp, err := framework.Do(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("allow-list", func(t *testing.T) {
		record(t, "route policies", "allow-list: 403 for clients outside it, in every equivalent form of the path (//admin, /%61dmin, /x/../admin); 200 inside it")
		expectStatus(t, b, "pol.example", "/admin/x", http.StatusForbidden)
		for _, p := range []string{"//admin/x", "/%61dmin/x", "/x/../admin", "/./admin"} {
			if s := get(p).Status; s != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", p, s)
			}
		}
		if e, err := framework.GetEcho(context.Background(), b.Request("pol.example", "/open/x")); err != nil || e.Service != "app" {
			t.Errorf("a client inside the allow-list: %+v %v", e, err)
		}
	})
	t.Run("deny-list", func(t *testing.T) {
		record(t, "route policies", "deny-list: 403 for clients in it, other routes of the host unaffected")
		expectStatus(t, b, "pol.example", "/deny", http.StatusForbidden)
		expectService(t, b, "pol.example", "/other", "app")
	})
	t.Run("limit-rps", func(t *testing.T) {
		record(t, "route policies", "limit-rps 3: of 8 requests in a row, 3 pass and the rest get 429")
		time.Sleep(2100 * time.Millisecond) // expectService's requests leave the rate
		var codes []int
		pass := 0
		for range 8 {
			s := get("/rps").Status
			codes = append(codes, s)
			if s == http.StatusOK {
				pass++
			}
		}
		if pass != 3 || codes[7] != http.StatusTooManyRequests {
			t.Errorf("statuses %v, want exactly three 200 and then 429", codes)
		}
	})
	t.Run("limit-connections", func(t *testing.T) {
		record(t, "route policies", "limit-connections 1: a second request while one is in flight gets 429")
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := b.Request("pol.example", "/conns?delay=1500ms")
				if resp, err := framework.Do(context.Background(), r); err == nil {
					codes[i] = resp.Status
				}
			}()
			if i == 0 {
				time.Sleep(300 * time.Millisecond) // the first is in flight
			}
		}
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 429) {
			t.Errorf("statuses %v, want [200 429]", codes)
		}
	})
	t.Run("cors", func(t *testing.T) {
		record(t, "route policies", "cors: a preflight from an allowed origin gets 204 with the CORS headers from HAProxy; another origin gets none")
		r := b.Request("pol.example", "/cors")
		r.Method = http.MethodOptions
		r.Header = http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}}
		resp, err := framework.Do(context.Background(), r)
		if err != nil || resp.Status != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Methods") == "" {
			t.Errorf("preflight: %+v %v", resp, err)
		}
		r.Header.Set("Origin", "https://evil.example")
		if resp, err := framework.Do(context.Background(), r); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("another origin: %+v %v", resp, err)
		}
	})
	t.Run("hsts", func(t *testing.T) {
		record(t, "route policies", "hsts: Strict-Transport-Security on HTTPS responses, never over plain HTTP")
		req := b.TLSRequest("pol.example", "/hsts")
		req.RootCA = ca.Pool()
		resp, err := framework.Do(context.Background(), req)
		if err != nil || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=31536000") {
			t.Errorf("HTTPS: %+v %v", resp, err)
		}
		if h := get("/hsts").Header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("plain HTTP: %q", h)
		}
	})
	t.Run("request and response headers", func(t *testing.T) {
		record(t, "route policies", "request-set-headers reach the backend verbatim (quotes, ;, %[...] included); response-set-headers reach the client")
		resp := get("/headers")
		e, err := resp.Echo()
		if err != nil || strings.Join(e.Headers["X-Conf-Req"], ",") != `a; "b" %[env(HOME)]` || resp.Header.Get("X-Conf-Resp") != "yes" {
			t.Errorf("headers: %+v %v %v", e, err, resp.Header)
		}
	})
	t.Run("rewrite-target", func(t *testing.T) {
		record(t, "route policies", "rewrite-target /: /api/x?q=1 reaches the backend as /x?q=1")
		e, err := framework.GetEcho(context.Background(), b.Request("pol.example", "/api/x?q=1"))
		if err != nil || e.Path != "/x?q=1" {
			t.Errorf("rewrite: %+v %v", e, err)
		}
	})
	t.Run("redirects", func(t *testing.T) {
		record(t, "route policies", "permanent-redirect: 301 to the URL; temporal-redirect: 302")
		if r := get("/moved/a"); r.Status != http.StatusMovedPermanently || r.Header.Get("Location") != "https://new.example/x" {
			t.Errorf("permanent: %d %q", r.Status, r.Header.Get("Location"))
		}
		if r := get("/temp"); r.Status != http.StatusFound || r.Header.Get("Location") != "https://tmp.example/" {
			t.Errorf("temporal: %d %q", r.Status, r.Header.Get("Location"))
		}
	})
	t.Run("app-root", func(t *testing.T) {
		record(t, "route policies", "app-root /portal: / gets a 302 to /portal; other paths are served")
		if r := getFrom("root.example", "/"); r.Status != http.StatusFound || r.Header.Get("Location") != "/portal" {
			t.Errorf("/: %d %q", r.Status, r.Header.Get("Location"))
		}
		if e, err := getFrom("root.example", "/portal").Echo(); err != nil || e.Service != "app" {
			t.Errorf("/portal: %+v %v", e, err)
		}
	})
	t.Run("acme challenge over plain HTTP", func(t *testing.T) {
		record(t, "route policies", "/.well-known/acme-challenge/ of a TLS host that redirects to HTTPS is served over plain HTTP; its other paths get 308")
		expectService(t, b, "acme.example", "/.well-known/acme-challenge/token", "app")
		if r := getFrom("acme.example", "/other"); r.Status != http.StatusPermanentRedirect {
			t.Errorf("another path of the TLS host: %d, want 308", r.Status)
		}
	})
}
