package policies

import (
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestDefaultBackendPolicy: the policy of an Ingress applies to the
// requests its spec.defaultBackend takes too: the catch-all one (requests
// no rule matches) and the one of its own hosts.
func TestDefaultBackendPolicy(t *testing.T) {
	ns, b := cluster.Setup(t, "dflt")
	cluster.Echo(t, ns, "app", 1)
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, ingress("site", "site.example", nil, root("web")))
	cluster.MustApply(t, ns, defaultBackendIngress("catchall", "", "app", map[string]string{"allow-list": "10.0.0.0/8"}))
	cluster.MustApply(t, ns, defaultBackendIngress("hosted", "hosted.example", "app", map[string]string{"deny-list": "127.0.0.0/8"}))
	b.WaitServed(t, "site.example", "/", "web", waitBudget)
	waitStatus(t, b.Request("hosted.example", "/x"), http.StatusForbidden)
	start := b.Reloads(t)

	for _, host := range []string{"unknown.example", "127.0.0.1", "site.example.other"} {
		if got := do(t, b.Request(host, "/x")).Status; got != http.StatusForbidden {
			t.Errorf("the catch-all default backend with allow-list 10.0.0.0/8, host %s: status %d, want 403", host, got)
		}
	}
	if got := do(t, b.Request("site.example", "/x")).Status; got != http.StatusOK {
		t.Errorf("a host routed by an Ingress without a policy: status %d, want 200", got)
	}

	cluster.MustApply(t, ns, defaultBackendIngress("catchall", "", "app", map[string]string{"allow-list": "127.0.0.0/8", "response-set-headers": "X-Catch: all"}))
	resp := waitFor(t, b.Request("unknown.example", "/x"), "X-Catch all", func(r *framework.Response) bool {
		return r.Status == http.StatusOK && r.Header.Get("X-Catch") == "all"
	})
	if e := echoOf(t, resp); e.Service != "app" {
		t.Errorf("the catch-all default backend: served by %q, want app", e.Service)
	}
	if got := do(t, b.Request("hosted.example", "/x")).Status; got != http.StatusForbidden {
		t.Errorf("the host default backend with deny-list 127.0.0.0/8 after the catch-all changed: status %d, want 403", got)
	}
	b.AssertReloads(t, start, 1, "allow-list changed and a response header name new to the backend")
}

// defaultBackendIngress renders an Ingress with only spec.defaultBackend →
// service port 80; with host, one rule for host without paths.
func defaultBackendIngress(name, host, service string, options map[string]string) string {
	y := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: " + name + "}\nspec:\n  ingressClassName: bollard\n" +
		"  defaultBackend: {service: {name: " + service + ", port: {number: 80}}}\n"
	if host != "" {
		y += "  rules: [{host: " + host + "}]\n"
	}
	return framework.WithAnnotations(y, name, options)
}

// TestWildcardAndHostlessPolicy: policies hold on the routes of a wildcard
// host and of a rule without a host.
func TestWildcardAndHostlessPolicy(t *testing.T) {
	ns, b := cluster.Setup(t, "hostforms")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("wild", "*.w.example", map[string]string{"allow-list": "10.0.0.0/8"}, root("app")))
	cluster.MustApply(t, ns, ingress("exactwild", "open.w.example", nil, root("app")))
	cluster.MustApply(t, ns, ingress("hostless", "", map[string]string{"deny-list": "127.0.0.0/8"},
		framework.Path{Path: "/private", Type: "Prefix", Service: "app"}, framework.Path{Path: "/second", Type: "Prefix", Service: "app"}))
	b.WaitServed(t, "open.w.example", "/", "app", waitBudget)
	waitStatus(t, b.Request("a.w.example", "/"), http.StatusForbidden)
	waitStatus(t, b.Request("any.example", "/private"), http.StatusForbidden)
	for _, c := range []struct {
		host, path string
		want       int
	}{
		{"a.w.example", "/x", 403}, {"B.W.EXAMPLE.", "//x", 403}, {"open.w.example", "/x", 200},
		{"any.example", "/private/x", 403}, {"127.0.0.1", "/%70rivate", 403}, {"any.example", "/second", 403},
		{"any.example", "/other", 404},
	} {
		if got := do(t, b.Request(c.host, c.path)).Status; got != c.want {
			t.Errorf("host %q path %q: status %d, want %d", c.host, c.path, got, c.want)
		}
	}
}
