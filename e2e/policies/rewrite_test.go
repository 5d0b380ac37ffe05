package policies

import (
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestRewriteTarget: rewrite-target replaces the matched Prefix path and
// keeps the rest and the query; a path the route does not match is left
// alone; a changed target is a map update.
func TestRewriteTarget(t *testing.T) {
	ns, b := cluster.Setup(t, "rewrite")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("site", "rw.example", nil, root("app")))
	api := framework.Path{Path: "/api", Type: "Prefix", Service: "app"}
	cluster.MustApply(t, ns, ingress("api", "rw.example", map[string]string{"rewrite-target": "/"}, api))
	cluster.MustApply(t, ns, ingress("login", "rw.example", map[string]string{"rewrite-target": "/auth/sign-in"},
		framework.Path{Path: "/login", Type: "Exact", Service: "app"}))
	waitFor(t, b.Request("rw.example", "/login"), "rewritten to /auth/sign-in", func(r *framework.Response) bool {
		e, err := r.Echo()
		return err == nil && e.Path == "/auth/sign-in"
	})
	waitFor(t, b.Request("rw.example", "/api/x?q=1"), "rewritten to /x?q=1", func(r *framework.Response) bool {
		e, err := r.Echo()
		return err == nil && e.Path == "/x?q=1"
	})
	start := b.Reloads(t)

	seen := func(path string) string {
		t.Helper()
		return echoOf(t, do(t, b.Request("rw.example", path))).Path
	}
	for _, c := range []struct{ path, want string }{
		{"/api/x?q=1", "/x?q=1"}, {"/api", "/"}, {"/api/", "/"}, {"/api/x/y", "/x/y"},
		{"//api/./x", "/x"}, {"/%61pi/x", "/x"},
		// Not the /api route: routed by the Ingress without a policy, as is.
		{"/apix", "/apix"}, {"/apix/y", "/apix/y"}, {"/API/x", "/API/x"}, {"/x/api", "/x/api"},
		// An Exact path is replaced whole, the query kept; /login/ is not it.
		{"/login?next=%2F", "/auth/sign-in?next=%2F"}, {"//login", "/auth/sign-in"}, {"/login/", "/login/"}, {"/login/x", "/login/x"},
	} {
		if got := seen(c.path); got != c.want {
			t.Errorf("rewrite-target / on Prefix /api: %s reached the backend as %q, want %q", c.path, got, c.want)
		}
	}

	cluster.MustApply(t, ns, ingress("api", "rw.example", map[string]string{"rewrite-target": "/v2"}, api))
	waitFor(t, b.Request("rw.example", "/api/x"), "rewritten to /v2/x", func(r *framework.Response) bool {
		e, err := r.Echo()
		return err == nil && e.Path == "/v2/x"
	})
	for _, c := range []struct{ path, want string }{{"/api", "/v2"}, {"/api/x?q=1", "/v2/x?q=1"}, {"/apix", "/apix"}} {
		if got := seen(c.path); got != c.want {
			t.Errorf("rewrite-target /v2 on Prefix /api: %s reached the backend as %q, want %q", c.path, got, c.want)
		}
	}
	b.AssertReloads(t, start, 0, "rewrite-target / → /v2")
}

// TestRedirects: permanent-redirect (with its code), temporal-redirect and
// app-root answer from HAProxy; changed values are map updates.
func TestRedirects(t *testing.T) {
	ns, b := cluster.Setup(t, "redirect")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("moved", "moved.example", map[string]string{"permanent-redirect": "https://new.example/x"}, root("app")))
	cluster.MustApply(t, ns, ingress("away", "away.example", map[string]string{"temporal-redirect": "https://elsewhere.example/y?z=1"}, root("app")))
	cluster.MustApply(t, ns, ingress("portal", "portal.example", map[string]string{"app-root": "/portal"}, root("app")))
	redirect := func(host, path string, code int, location string) {
		t.Helper()
		waitFor(t, b.Request(host, path), "redirect "+location, func(r *framework.Response) bool {
			return r.Status == code && r.Header.Get("Location") == location
		})
	}
	redirect("moved.example", "/any/path?q=1", http.StatusMovedPermanently, "https://new.example/x")
	redirect("away.example", "/", http.StatusFound, "https://elsewhere.example/y?z=1")
	redirect("portal.example", "/", http.StatusFound, "/portal")
	start := b.Reloads(t)

	for _, path := range []string{"/other", "/portal", "/portal/x"} {
		if e := echoOf(t, do(t, b.Request("portal.example", path))); e.Path != path {
			t.Errorf("app-root /portal: %s reached the backend as %q", path, e.Path)
		}
	}
	if r := do(t, b.Request("moved.example", "/")); r.Status != http.StatusMovedPermanently {
		t.Errorf("permanent-redirect, /: status %d, want 301", r.Status)
	}

	cluster.MustApply(t, ns, ingress("moved", "moved.example", map[string]string{"permanent-redirect": "https://new.example/x", "permanent-redirect-code": "308"}, root("app")))
	redirect("moved.example", "/a", http.StatusPermanentRedirect, "https://new.example/x")
	cluster.MustApply(t, ns, ingress("away", "away.example", map[string]string{"temporal-redirect": "http://other.example:8080/"}, root("app")))
	redirect("away.example", "/b", http.StatusFound, "http://other.example:8080/")
	cluster.MustApply(t, ns, ingress("portal", "portal.example", map[string]string{"app-root": "/home?tab=1"}, root("app")))
	redirect("portal.example", "/", http.StatusFound, "/home?tab=1")
	b.AssertReloads(t, start, 0, "redirect code, redirect URL and app-root changed")
}
