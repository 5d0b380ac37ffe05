package policies

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestAllowListOnAdminNormalisation: an allow-list on /admin holds for
// every spelling of that route, while another Ingress's / of the same
// host and Service is not limited; changed lists are map updates.
func TestAllowListOnAdminNormalisation(t *testing.T) {
	ns, b := cluster.Setup(t, "allow")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("site", "p.example", nil, root("app")))
	b.WaitServed(t, "p.example", "/", "app", waitBudget)
	cluster.MustApply(t, ns, ingress("admin", "p.example", map[string]string{"allow-list": "10.0.0.0/8"},
		framework.Path{Path: "/admin", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin"), http.StatusForbidden)
	start := b.Reloads(t)

	port := ":" + strconv.Itoa(b.HTTP)
	for _, form := range []struct{ host, path string }{
		{"p.example", "/admin"}, {"p.example", "/admin/"}, {"p.example", "/admin/x?y=1"},
		{"p.example", "//admin"}, {"p.example", "/%61dmin"}, {"p.example", "/%61%64min/x"},
		{"p.example", "/./admin"}, {"p.example", "/x/../admin"}, {"p.example", "/admin/./"},
		{"P.EXAMPLE", "/admin"}, {"p.example.", "/admin"}, {"p.example" + port, "/admin"}, {"P.Example.:80", "/admin"},
	} {
		if got := do(t, b.Request(form.host, form.path)).Status; got != http.StatusForbidden {
			t.Errorf("allow-list 10.0.0.0/8 on /admin, host %q path %q from 127.0.0.1: status %d, want 403", form.host, form.path, got)
		}
	}
	// Paths are case-sensitive and /admin matches on a segment boundary:
	// these are routed by the Ingress without a policy.
	for _, path := range []string{"/", "/ADMIN", "/Admin/x", "/adminx", "/x"} {
		if got := do(t, b.Request("p.example", path)).Status; got != http.StatusOK {
			t.Errorf("path %q, routed by the Ingress without a policy: status %d, want 200", path, got)
		}
	}

	cluster.MustApply(t, ns, ingress("admin", "p.example", map[string]string{"allow-list": "10.0.0.0/8, 127.0.0.0/8"},
		framework.Path{Path: "/admin", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin"), http.StatusOK)
	if got := do(t, b.Request("p.example.", "//admin/x")).Status; got != http.StatusOK {
		t.Errorf("allow-list with 127.0.0.0/8, //admin/x: status %d, want 200", got)
	}
	b.AssertReloads(t, start, 0, "allow-list 10.0.0.0/8 → 10.0.0.0/8, 127.0.0.0/8")

	cluster.MustApply(t, ns, ingress("admin", "p.example", map[string]string{"allow-list": "10.0.0.0/8, 127.0.0.0/8", "deny-list": "127.0.0.1"},
		framework.Path{Path: "/admin", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin"), http.StatusForbidden)
	if got := do(t, b.Request("p.example", "/%61dmin")).Status; got != http.StatusForbidden {
		t.Errorf("deny-list 127.0.0.1, /%%61dmin: status %d, want 403", got)
	}
	if got := do(t, b.Request("p.example", "/")).Status; got != http.StatusOK {
		t.Errorf("deny-list on /admin only, /: status %d, want 200", got)
	}
	b.AssertReloads(t, start, 0, "deny-list 127.0.0.1 added")

	// IPv6 entries are accepted; this IPv4 client matches none of them.
	cluster.MustApply(t, ns, ingress("admin", "p.example", map[string]string{"allow-list": "2001:db8::/32, ::1, 127.0.0.0/8", "deny-list": "fd00::/8"},
		framework.Path{Path: "/admin", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin"), http.StatusOK)
	cluster.MustApply(t, ns, ingress("admin", "p.example", map[string]string{"allow-list": "2001:db8::/32, ::1"},
		framework.Path{Path: "/admin", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin"), http.StatusForbidden)
	b.AssertReloads(t, start, 0, "allow-lists with IPv6 entries")

	// Routes added while the backend runs the policy rules are map
	// updates: a longer path without a policy stops the policy lookup at
	// that route, a new route with a policy gets its own.
	cluster.MustApply(t, ns, ingress("public", "p.example", nil, framework.Path{Path: "/admin/public", Type: "Prefix", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/admin/public/x"), http.StatusOK)
	cluster.MustApply(t, ns, ingress("ops", "p.example", map[string]string{"deny-list": "127.0.0.0/8"}, framework.Path{Path: "/ops", Type: "Exact", Service: "app"}))
	waitStatus(t, b.Request("p.example", "/ops"), http.StatusForbidden)
	for _, c := range []struct {
		path string
		want int
	}{{"/admin/public", 200}, {"//admin/./public/", 200}, {"/admin", 403}, {"/admin/publicx", 403}, {"/ops", 403}, {"/ops/", 200}, {"/", 200}} {
		if got := do(t, b.Request("p.example", c.path)).Status; got != c.want {
			t.Errorf("after routes were added at run time, %s: status %d, want %d", c.path, got, c.want)
		}
	}
	b.AssertReloads(t, start, 0, "routes added to a backend that runs the policy rules")
}

// TestBadPolicyLeftOut: a bad policy value leaves only that Ingress out,
// with a Warning naming the annotation; a served version keeps serving
// as it was, and the other Ingresses are untouched.
func TestBadPolicyLeftOut(t *testing.T) {
	ns, b := cluster.Setup(t, "bad")
	cluster.Echo(t, ns, "app", 1)
	good := map[string]string{"allow-list": "127.0.0.0/8", "response-set-headers": "X-Version: good"}
	cluster.MustApply(t, ns, ingress("kept", "kept.example", good, root("app")))
	cluster.MustApply(t, ns, ingress("other", "other.example", map[string]string{"response-set-headers": "X-Version: other"}, root("app")))
	b.WaitServed(t, "kept.example", "/", "app", waitBudget)
	b.WaitServed(t, "other.example", "/", "app", waitBudget)

	// Never served: a new Ingress with a bad value.
	cluster.MustApply(t, ns, ingress("fresh", "fresh.example", map[string]string{"allow-list": "10.0.0.0/33"}, root("app")))
	if err := cluster.WaitWarning(context.Background(), ns, "fresh", `metadata.annotations["bollard.io/allow-list"]`, waitBudget); err != nil {
		t.Fatal(err)
	}
	if got := do(t, b.Request("fresh.example", "/")).Status; got != http.StatusNotFound {
		t.Errorf("an Ingress whose allow-list is bad from the start: status %d, want 404", got)
	}

	// Broken by an update: the last good version serves, with its policy.
	cluster.MustApply(t, ns, ingress("kept", "kept.example", map[string]string{"allow-list": "10.0.0.0/33", "response-set-headers": "X-Version: broken"}, root("app")))
	msg, err := cluster.WaitWarningReason(context.Background(), ns, "kept", "", `metadata.annotations["bollard.io/allow-list"]`, waitBudget)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warning: %s", msg)
	for i := 0; i < 3; i++ {
		resp := do(t, b.Request("kept.example", "/"))
		if resp.Status != http.StatusOK || resp.Header.Get("X-Version") != "good" {
			t.Errorf("broken update of a served Ingress: status %d X-Version %q, want 200 and the last good version's \"good\"", resp.Status, resp.Header.Get("X-Version"))
		}
		resp = do(t, b.Request("other.example", "/"))
		if resp.Status != http.StatusOK || resp.Header.Get("X-Version") != "other" {
			t.Errorf("another Ingress on the Service: status %d X-Version %q, want 200 and \"other\"", resp.Status, resp.Header.Get("X-Version"))
		}
	}

	// Fixed: the new version serves.
	cluster.MustApply(t, ns, ingress("kept", "kept.example", map[string]string{"allow-list": "127.0.0.0/8", "response-set-headers": "X-Version: fixed"}, root("app")))
	waitFor(t, b.Request("kept.example", "/"), "X-Version fixed", func(r *framework.Response) bool {
		return r.Status == http.StatusOK && r.Header.Get("X-Version") == "fixed"
	})
}
