package hostile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// refusingHAProxy writes a wrapper around the real HAProxy whose `-c`
// refuses any config with a backend of Service "refused-svc", and passes
// everything else (the running HAProxy included) to the real binary with
// exec. It stands for the objects the model accepts and HAProxy refuses
// (a TLS library limit, a line too long): which one does not matter to
// the controller, only that haproxy -c fails with it.
func refusingHAProxy(t *testing.T) string {
	t.Helper()
	return haproxyRefusing(t, "_refused-svc_", "backend uses refused-svc, which this HAProxy refuses.")
}

// haproxyRefusing wraps the real HAProxy so that `haproxy -c` refuses every
// config holding pattern (a grep pattern), with alert.
func haproxyRefusing(t *testing.T, pattern, alert string) string {
	t.Helper()
	real := framework.HAProxyBinary(t)
	script := `#!/bin/sh
check=0; cfg=; prev=
for a in "$@"; do
  [ "$a" = "-c" ] && check=1
  [ "$prev" = "-f" ] && cfg=$a
  prev=$a
done
if [ $check = 1 ] && grep -q '` + pattern + `' "$cfg"; then
  echo "[ALERT]    (1) : config : parsing [$cfg:1] : ` + alert + `"
  exit 1
fi
exec ` + real + ` "$@"
`
	path := filepath.Join(t.TempDir(), "haproxy")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHAProxyRefusedIngress: one tenant's Ingress that the model accepts
// but haproxy -c refuses. Only that Ingress is left out, with a
// ConfigCheckFailed Warning; an unrelated new Service, an endpoint change
// and an unrelated new host are served; fixing the Ingress brings it in.
func TestHAProxyRefusedIngress(t *testing.T) { haproxyRefusedIngress(t) }

// TestHAProxyRefusedIngressBackgroundBuilds is the same with every full
// build off the apply loop, as at 10k Ingresses: the isolation must not
// try the refused model again, and a build that predates it is not used.
func TestHAProxyRefusedIngressBackgroundBuilds(t *testing.T) {
	haproxyRefusedIngress(t, "--background-build-after=1ns")
}

func haproxyRefusedIngress(t *testing.T, args ...string) {
	framework.Need(t, cluster)
	ns, b := cluster.Setup(t, "refused", append([]string{"--haproxy-binary", refusingHAProxy(t)}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bollard log:\n%s", b.Log())
		}
	})
	cluster.Echo(t, ns, "web", 1)
	cluster.Echo(t, ns, "refused-svc", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("healthy", healthyHost, framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)

	start := time.Now()
	cluster.MustApply(t, ns, framework.IngressYAML("bad", "bad.example", framework.Path{Path: "/", Type: "Prefix", Service: "refused-svc"}))
	msg := waitRefused(t, ns, "bad", "refused-svc, which this HAProxy refuses")
	refusedAfter := time.Since(start)

	// Everything else goes on: a new Service (a reload), an endpoint change
	// (runtime) and a new host on an existing Service (runtime).
	cluster.Echo(t, ns, "other", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("other", "other.example", framework.Path{Path: "/", Type: "Prefix", Service: "other"}))
	b.WaitServed(t, "other.example", "/", "other", 30*time.Second)
	if err := cluster.Scale(context.Background(), ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(context.Background(), ns, "web", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServedByExactly(t, healthyHost, framework.Pods(eps), 15*time.Second)
	cluster.MustApply(t, ns, framework.IngressYAML("newhost", "newhost.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, "newhost.example", "/", "web", 15*time.Second)
	if resp, err := framework.Do(context.Background(), b.Request("bad.example", "/")); err != nil || resp.Status != 404 {
		t.Errorf("the refused Ingress's host answered %v, %v; want 404", resp, err)
	}
	if got := b.Metric(t, "bollard_refused_ingresses"); got != 1 {
		t.Errorf("bollard_refused_ingresses = %v, want 1", got)
	}

	// An update that HAProxy refuses keeps the last good version serving.
	cluster.MustApply(t, ns, framework.IngressYAML("flip", "flip.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, "flip.example", "/", "web", 15*time.Second)
	cluster.MustApply(t, ns, framework.IngressYAML("flip", "flip.example", framework.Path{Path: "/", Type: "Prefix", Service: "refused-svc"}))
	flipMsg := waitRefused(t, ns, "flip", "the last good version keeps serving")
	for range 20 {
		b.WaitServed(t, "flip.example", "/", "web", 2*time.Second)
	}
	if got := b.Metric(t, "bollard_refused_ingresses"); got != 2 {
		t.Errorf("bollard_refused_ingresses = %v, want 2", got)
	}
	cluster.MustApply(t, ns, framework.IngressYAML("flip", "flip.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))

	// Fixed: the Ingress now routes to web and is served.
	cluster.MustApply(t, ns, framework.IngressYAML("bad", "bad.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, "bad.example", "/", "web", 30*time.Second)
	if got := b.Metric(t, "bollard_refused_ingresses"); got != 0 {
		t.Errorf("bollard_refused_ingresses = %v after the fix, want 0", got)
	}
	t.Logf("refused Ingress left out after %s (%q); other Service, endpoints and host served; a refused update kept the last good version (%q); fix served", refusedAfter.Round(time.Millisecond), msg, flipMsg)
}

// waitRefused waits for the ConfigCheckFailed Warning on Ingress name whose
// message holds text, and returns the message.
func waitRefused(t *testing.T, ns, name, text string) string {
	t.Helper()
	msg, err := cluster.WaitWarningReason(context.Background(), ns, name, "ConfigCheckFailed", text, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestHAProxyRefusedServiceOption: a backend option on a Service that the
// model accepts but haproxy -c refuses. The Ingresses routing to that
// Service are left out with a ConfigCheckFailed Warning (their Service's
// options are part of what they are checked by), every other change still
// converges, and fixing the Service brings them back.
func TestHAProxyRefusedServiceOption(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := cluster.Setup(t, "refusedopt", "--haproxy-binary", haproxyRefusing(t, "balance uri", "balance uri is refused by this HAProxy."))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bollard log:\n%s", b.Log())
		}
	})
	cluster.Echo(t, ns, "web", 1)
	cluster.Echo(t, ns, "opt", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("healthy", healthyHost, framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	cluster.MustApply(t, ns, framework.IngressYAML("uses-opt", "opt.example", framework.Path{Path: "/", Type: "Prefix", Service: "opt"}))
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	b.WaitServed(t, "opt.example", "/", "opt", 30*time.Second)

	service := func(balance string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: opt, annotations: {bollard.io/load-balance: %s}}\n"+
			"spec:\n  selector: {app: opt}\n  ports: [{name: http, port: 80, targetPort: %d, protocol: TCP}]\n", balance, framework.EchoPort)
	}
	cluster.MustApply(t, ns, service("uri"))
	msg := waitRefused(t, ns, "uses-opt", "balance uri is refused")

	// Everything else goes on: a new Service (a reload) and a new host.
	cluster.Echo(t, ns, "later", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("later", "later.example", framework.Path{Path: "/", Type: "Prefix", Service: "later"}))
	b.WaitServed(t, "later.example", "/", "later", 30*time.Second)
	cluster.MustApply(t, ns, framework.IngressYAML("newhost", "newhost.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, "newhost.example", "/", "web", 15*time.Second)
	b.WaitServed(t, healthyHost, "/", "web", 5*time.Second)

	// Fixed on the Service: its Ingress is served again.
	cluster.MustApply(t, ns, service("leastconn"))
	b.WaitServed(t, "opt.example", "/", "opt", 30*time.Second)
	if got := b.Metric(t, "bollard_refused_ingresses"); got != 0 {
		t.Errorf("bollard_refused_ingresses = %v after the Service was fixed, want 0", got)
	}
	t.Logf("a refused Service option left its Ingress out (%q); a new Service and a new host were served; the fixed Service was served", msg)
}
