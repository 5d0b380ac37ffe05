package policies

import (
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/model"
)

// TestCORS: HAProxy answers the preflight of an allowed origin and adds
// Access-Control-Allow-Origin to its answers; other origins get no CORS
// headers; changed origins are a map update.
func TestCORS(t *testing.T) {
	ns, b := cluster.Setup(t, "cors")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("api", "cors.example", map[string]string{"cors-enable": "true", "cors-allow-origin": "https://a.example"}, root("app")))
	b.WaitServed(t, "cors.example", "/", "app", waitBudget)
	start := b.Reloads(t)

	preflight := func(origin string) framework.Request {
		r := b.Request("cors.example", "/data")
		r.Method = http.MethodOptions
		r.Header = http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"PUT"}}
		return r
	}
	get := func(origin string) framework.Request {
		r := b.Request("cors.example", "/data")
		r.Header = http.Header{"Origin": {origin}}
		return r
	}

	resp := do(t, preflight("https://a.example"))
	if resp.Status != http.StatusNoContent {
		t.Errorf("preflight from an allowed origin: status %d, want 204 from HAProxy", resp.Status)
	}
	for name, want := range map[string]string{
		"Access-Control-Allow-Origin":  "https://a.example",
		"Access-Control-Allow-Methods": model.DefaultCORSAllowMethods,
		"Access-Control-Allow-Headers": model.DefaultCORSAllowHeaders,
		"Access-Control-Max-Age":       "1728000",
	} {
		if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("preflight from an allowed origin: %s %q, want [%s]", name, got, want)
		}
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("preflight without cors-allow-credentials: Access-Control-Allow-Credentials %q, want none", got)
	}

	evil := do(t, preflight("https://evil.example"))
	if got := evil.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight from https://evil.example: Access-Control-Allow-Origin %q, want none", got)
	}
	if evil.Status == http.StatusNoContent {
		t.Errorf("preflight from https://evil.example: HAProxy answered 204, want the backend's answer")
	}
	simple := do(t, get("https://a.example"))
	if simple.Status != http.StatusOK || simple.Header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Errorf("GET with an allowed Origin: status %d Access-Control-Allow-Origin %q, want 200 and https://a.example", simple.Status, simple.Header.Get("Access-Control-Allow-Origin"))
	}
	if got := do(t, get("https://evil.example")).Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET with Origin https://evil.example: Access-Control-Allow-Origin %q, want none", got)
	}
	if got := do(t, b.Request("cors.example", "/data")).Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET without Origin: Access-Control-Allow-Origin %q, want none", got)
	}

	cluster.MustApply(t, ns, ingress("api", "cors.example", map[string]string{"cors-enable": "true", "cors-allow-origin": "https://b.example"}, root("app")))
	waitFor(t, preflight("https://b.example"), "https://b.example allowed", func(r *framework.Response) bool {
		return r.Status == http.StatusNoContent && r.Header.Get("Access-Control-Allow-Origin") == "https://b.example"
	})
	if old := do(t, preflight("https://a.example")); old.Status == http.StatusNoContent || old.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from the origin no longer listed: status %d Access-Control-Allow-Origin %q, want no CORS answer", old.Status, old.Header.Get("Access-Control-Allow-Origin"))
	}
	if got := do(t, get("https://b.example")).Header.Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Errorf("GET with the new origin: Access-Control-Allow-Origin %q, want https://b.example", got)
	}
	b.AssertReloads(t, start, 0, "cors-allow-origin https://a.example → https://b.example")
}
