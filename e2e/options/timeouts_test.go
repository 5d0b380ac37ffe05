package options

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestTimeoutServerChangesWithoutReload: timeout-server gives 504 once the
// backend is slower; a changed value, on the Ingress or on the Service, is
// a map change: no reload.
func TestTimeoutServerChangesWithoutReload(t *testing.T) {
	ns, b := cluster.Setup(t, "tmo")
	cluster.Echo(t, ns, "slow", 1)
	cluster.MustApply(t, ns, ingressWith("slow", "slow.example", "slow", map[string]string{"timeout-server": "1s"}))
	b.WaitServed(t, "slow.example", "/", "slow", 20*time.Second)
	start := b.Reloads(t)

	slow := b.Request("slow.example", "/?delay=2s")
	slow.Timeout = 10 * time.Second
	began := time.Now()
	if got := status(t, slow); got != http.StatusGatewayTimeout {
		t.Fatalf("timeout-server 1s, backend answering after 2s: status %d, want 504", got)
	}
	if took := time.Since(began); took < 900*time.Millisecond || took > 1900*time.Millisecond {
		t.Errorf("the 504 came after %v, want about 1s", took)
	}
	fast := b.Request("slow.example", "/?delay=200ms")
	if got := status(t, fast); got != http.StatusOK {
		t.Fatalf("a backend answering within timeout-server: status %d, want 200", got)
	}

	cluster.MustApply(t, ns, ingressWith("slow", "slow.example", "slow", map[string]string{"timeout-server": "5s"}))
	waitStatus(t, slow, http.StatusOK, 20*time.Second)
	b.AssertReloads(t, start, 0, "timeout-server 1s → 5s on the Ingress")

	// On the Service instead: the Ingress no longer sets it.
	cluster.MustApply(t, ns, serviceWith("slow", map[string]string{"timeout-server": "1s"}))
	cluster.MustApply(t, ns, ingressWith("slow", "slow.example", "slow", nil))
	waitStatus(t, slow, http.StatusGatewayTimeout, 20*time.Second)
	b.AssertReloads(t, start, 0, "timeout-server moved to the Service")
}

// TestConflictingValuesOldestWins: two Ingresses route to one Service and
// set different timeout-server values: the older one's applies to both
// hosts, the newer gets a Warning naming the annotation.
func TestConflictingValuesOldestWins(t *testing.T) {
	ns, b := cluster.Setup(t, "conflict")
	cluster.Echo(t, ns, "shared", 1)
	cluster.MustApply(t, ns, ingressWith("older", "older.example", "shared", map[string]string{"timeout-server": "1s"}))
	b.WaitServed(t, "older.example", "/", "shared", 20*time.Second)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have 1s resolution
	cluster.MustApply(t, ns, ingressWith("newer", "newer.example", "shared", map[string]string{"timeout-server": "5s"}))
	b.WaitServed(t, "newer.example", "/", "shared", 20*time.Second)

	if err := cluster.WaitWarning(context.Background(), ns, "newer", "bollard.io/timeout-server", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"older.example", "newer.example"} {
		r := b.Request(host, "/?delay=2s")
		r.Timeout = 10 * time.Second
		if got := status(t, r); got != http.StatusGatewayTimeout {
			t.Errorf("%s: status %d, want 504 (the older Ingress's 1s applies to the shared backend)", host, got)
		}
	}
}

// TestBrokenServiceAnnotationKeepsLastGood: an update that breaks a
// Service's annotation keeps its last good version serving, with its
// options, and a Warning on the Service; no reload.
func TestBrokenServiceAnnotationKeepsLastGood(t *testing.T) {
	ns, b := cluster.Setup(t, "svcgood")
	cluster.Echo(t, ns, "api", 1)
	cluster.MustApply(t, ns, serviceWith("api", map[string]string{"timeout-server": "1s"}))
	cluster.MustApply(t, ns, ingressWith("api", "api.example", "api", nil))
	b.WaitServed(t, "api.example", "/", "api", 20*time.Second)
	slow := b.Request("api.example", "/?delay=2s")
	slow.Timeout = 10 * time.Second
	waitStatus(t, slow, http.StatusGatewayTimeout, 20*time.Second)
	start := b.Reloads(t)

	cluster.MustApply(t, ns, serviceWith("api", map[string]string{"timeout-server": "1 second"}))
	if err := cluster.WaitWarning(context.Background(), ns, "api", "last good version keeps serving", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := status(t, b.Request("api.example", "/")); got != http.StatusOK {
		t.Errorf("with a broken annotation on its Service: status %d, want 200 from the last good version", got)
	}
	if got := status(t, slow); got != http.StatusGatewayTimeout {
		t.Errorf("the last good version's timeout-server no longer applies: status %d, want 504", got)
	}
	b.AssertReloads(t, start, 0, "a broken Service annotation")
}
