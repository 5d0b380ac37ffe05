package policies

import (
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestHeaders: request-set-headers reach the backend verbatim, whatever
// HAProxy would read as syntax; response-set-headers reach the client. A
// changed value is a map update, a header name new to the backend one
// reload.
func TestHeaders(t *testing.T) {
	ns, b := cluster.Setup(t, "headers")
	cluster.Echo(t, ns, "app", 1)
	const tricky = `; "a b" %[env(HOME)] ${HOME} #x`
	headers := func(request, response string) map[string]string {
		return map[string]string{"request-set-headers": request, "response-set-headers": response}
	}
	cluster.MustApply(t, ns, ingress("h", "h.example", headers("X-Tricky: "+tricky+"\nX-Team: blue", "Cache-Control: no-store"), root("app")))
	b.WaitServed(t, "h.example", "/", "app", waitBudget)
	start := b.Reloads(t)

	resp := do(t, b.Request("h.example", "/"))
	e := echoOf(t, resp)
	if got := e.Header("X-Tricky"); got != tricky {
		t.Errorf("request-set-headers X-Tricky: the backend saw %q, want %q", got, tricky)
	}
	if got := e.Header("X-Team"); got != "blue" {
		t.Errorf("request-set-headers X-Team: the backend saw %q, want blue", got)
	}
	if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("response-set-headers Cache-Control: the client saw %q, want [no-store]", got)
	}
	// A client's own value is replaced, not added to.
	r := b.Request("h.example", "/")
	r.Header = http.Header{"X-Team": {"red"}}
	if got := echoOf(t, do(t, r)).Headers["X-Team"]; len(got) != 1 || got[0] != "blue" {
		t.Errorf("a client's X-Team: red: the backend saw %q, want [blue]", got)
	}

	cluster.MustApply(t, ns, ingress("h", "h.example", headers("X-Tricky: "+tricky+"\nX-Team: green", "Cache-Control: private, max-age=5"), root("app")))
	waitFor(t, b.Request("h.example", "/"), "X-Team green and the new Cache-Control", func(r *framework.Response) bool {
		e, err := r.Echo()
		return err == nil && e.Header("X-Team") == "green" && r.Header.Get("Cache-Control") == "private, max-age=5"
	})
	b.AssertReloads(t, start, 0, "header values changed")

	start = b.Reloads(t)
	cluster.MustApply(t, ns, ingress("h", "h.example", headers("X-Tricky: "+tricky+"\nX-Team: green\nX-Region: eu", "Cache-Control: private, max-age=5"), root("app")))
	e = echoOf(t, waitFor(t, b.Request("h.example", "/"), "X-Region eu at the backend", func(r *framework.Response) bool {
		e, err := r.Echo()
		return err == nil && e.Header("X-Region") == "eu"
	}))
	if e.Header("X-Tricky") != tricky || e.Header("X-Team") != "green" {
		t.Errorf("after adding X-Region: X-Tricky %q X-Team %q, want them unchanged", e.Header("X-Tricky"), e.Header("X-Team"))
	}
	b.AssertReloads(t, start, 1, "a request header name new to the backend")
}

// TestHSTS: hsts adds Strict-Transport-Security to HTTPS answers only; a
// changed max-age is a map update.
func TestHSTS(t *testing.T) {
	ns, b := cluster.Setup(t, "hsts")
	cluster.Echo(t, ns, "app", 1)
	ca := cluster.CreateIssuedTLSSecret(t, ns, "s-tls", "s.example")
	cluster.MustApply(t, ns, tlsIngress("s", "s.example", "app", "s-tls", map[string]string{"hsts": "true", "ssl-redirect": "false"}))
	secure := b.TLSRequest("s.example", "/x")
	secure.RootCA = ca.Pool()
	waitStatus(t, secure, http.StatusOK)
	start := b.Reloads(t)

	if got := do(t, secure).Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000; includeSubDomains" {
		t.Errorf("HTTPS answer: Strict-Transport-Security %q, want [max-age=31536000; includeSubDomains]", got)
	}
	plain := do(t, b.Request("s.example", "/x"))
	if plain.Status != http.StatusOK {
		t.Errorf("plain HTTP with ssl-redirect false: status %d, want 200", plain.Status)
	}
	if got := plain.Header.Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("plain HTTP answer: Strict-Transport-Security %q, want none", got)
	}

	cluster.MustApply(t, ns, tlsIngress("s", "s.example", "app", "s-tls", map[string]string{"hsts": "true", "hsts-max-age": "600", "ssl-redirect": "false"}))
	waitFor(t, secure, "max-age=600", func(r *framework.Response) bool {
		return r.Header.Get("Strict-Transport-Security") == "max-age=600; includeSubDomains"
	})
	if got := do(t, b.Request("s.example", "/x")).Header.Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("plain HTTP answer after the change: Strict-Transport-Security %q, want none", got)
	}
	b.AssertReloads(t, start, 0, "hsts-max-age 31536000 → 600")
}

// TestFirstPolicyReloadsOnce: the first policy on a route to a Service is
// one reload (its backend runs the policy rules from then on); a policy on
// another Ingress to the same Service is none.
func TestFirstPolicyReloadsOnce(t *testing.T) {
	ns, b := cluster.Setup(t, "first")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("one", "one.example", nil, root("app")))
	cluster.MustApply(t, ns, ingress("two", "two.example", nil, root("app")))
	b.WaitServed(t, "one.example", "/", "app", waitBudget)
	b.WaitServed(t, "two.example", "/", "app", waitBudget)
	if got := do(t, b.Request("one.example", "/")).Header.Get("X-Policy"); got != "" {
		t.Fatalf("before any policy: X-Policy %q, want none", got)
	}
	start := b.Reloads(t)

	cluster.MustApply(t, ns, ingress("one", "one.example", map[string]string{"response-set-headers": "X-Policy: one"}, root("app")))
	waitFor(t, b.Request("one.example", "/"), "X-Policy one", func(r *framework.Response) bool { return r.Header.Get("X-Policy") == "one" })
	if got := do(t, b.Request("two.example", "/")); got.Status != http.StatusOK || got.Header.Get("X-Policy") != "" {
		t.Errorf("the Ingress without a policy: status %d X-Policy %q, want 200 and none", got.Status, got.Header.Get("X-Policy"))
	}
	b.AssertReloads(t, start, 1, "the first policy on a route to the Service")

	start = b.Reloads(t)
	cluster.MustApply(t, ns, ingress("two", "two.example", map[string]string{"response-set-headers": "X-Policy: two", "allow-list": "127.0.0.0/8"}, root("app")))
	waitFor(t, b.Request("two.example", "/"), "X-Policy two", func(r *framework.Response) bool { return r.Header.Get("X-Policy") == "two" })
	if got := do(t, b.Request("one.example", "/")).Header.Get("X-Policy"); got != "one" {
		t.Errorf("the first Ingress after the second got a policy: X-Policy %q, want one", got)
	}
	b.AssertReloads(t, start, 0, "a policy on a second Ingress to the same Service")

	// Removing a policy while another remains is a map update; removing
	// the last one returns the backend to the plain rules: one reload.
	start = b.Reloads(t)
	cluster.MustApply(t, ns, ingress("two", "two.example", nil, root("app")))
	waitFor(t, b.Request("two.example", "/"), "no X-Policy", func(r *framework.Response) bool { return r.Status == 200 && r.Header.Get("X-Policy") == "" })
	b.AssertReloads(t, start, 0, "the policy of the second Ingress removed")
	start = b.Reloads(t)
	cluster.MustApply(t, ns, ingress("one", "one.example", nil, root("app")))
	waitFor(t, b.Request("one.example", "/"), "no X-Policy", func(r *framework.Response) bool { return r.Status == 200 && r.Header.Get("X-Policy") == "" })
	b.AssertReloads(t, start, 1, "the last policy on a route to the Service removed")
}
