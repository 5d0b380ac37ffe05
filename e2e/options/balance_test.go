package options

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestLeastconn: with load-balance leastconn, requests avoid the endpoint
// that holds a slow request (roundrobin would send every other one there).
// Switching the algorithm is one validated reload.
func TestLeastconn(t *testing.T) {
	ns, b := cluster.Setup(t, "lc")
	cluster.Echo(t, ns, "pool", 2)
	cluster.MustApply(t, ns, ingressWith("pool", "pool.example", "pool", nil))
	b.WaitServed(t, "pool.example", "/", "pool", 20*time.Second)
	start := b.Reloads(t)
	cluster.MustApply(t, ns, ingressWith("pool", "pool.example", "pool", map[string]string{"load-balance": "leastconn"}))
	waitConfig(t, b, "balance leastconn")
	b.AssertReloads(t, start, 1, "load-balance roundrobin → leastconn")
	// The old worker balances round robin: a quick request it accepts
	// could go to the busy pod (seen in CI).
	b.WaitOldWorkersGone(t, 10*time.Second)

	slowPod := make(chan string, 1)
	go func() {
		// Long enough that the quick requests run while it is held, also
		// on a busy CI machine (with 3 s, one of them came after it).
		r := b.Request("pool.example", "/?delay=15s")
		r.Timeout = 30 * time.Second
		e, err := framework.GetEcho(context.Background(), r)
		if err != nil {
			slowPod <- "error: " + err.Error()
			return
		}
		slowPod <- e.Pod
	}()
	// The quick requests go once HAProxy holds the slow one (a fixed sleep
	// was too short on a busy machine).
	backend := ns + "_pool_80"
	var busyServer string
	err := framework.WaitFor(context.Background(), 5*time.Second, "the slow request in HAProxy", func(context.Context) (bool, error) {
		for server := range b.ServerSessions(t, backend) {
			busyServer = server
		}
		return busyServer != "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each quick request waits until HAProxy has released the one before:
	// the client reads a whole answer a moment before HAProxy's other
	// thread gives the server's connection back, and in that moment both
	// servers count one, a tie leastconn may break towards the busy one
	// (seen in CI on a loaded machine).
	released := func() error {
		return framework.WaitFor(context.Background(), 5*time.Second, "only the slow request in HAProxy", func(context.Context) (bool, error) {
			sessions := b.ServerSessions(t, backend)
			return len(sessions) == 1 && sessions[busyServer] == 1, nil
		})
	}
	const quickRequests = 8
	quick := map[string]int{}
	busy := ""
	for i := 0; i < quickRequests && busy == ""; i++ {
		if err := released(); err != nil {
			t.Fatal(err)
		}
		e, err := framework.GetEcho(context.Background(), b.Request("pool.example", "/"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case busy = <-slowPod: // done already: this answer may have come after it
		default:
			quick[e.Pod]++
		}
	}
	if busy == "" {
		busy = <-slowPod
	}
	total := 0
	for _, n := range quick {
		total += n
	}
	if total < quickRequests/2 {
		t.Fatalf("only %d quick requests ran while the slow one was held", total)
	}
	// Round robin sends every other quick request to the busy pod. One
	// stray is tolerated: the release above is read from the stats, and
	// HAProxy updates them and the balancer's count one after the other.
	t.Logf("quick requests: %v; %s held the slow one", quick, busy)
	if quick[busy] > 1 {
		t.Errorf("leastconn: quick requests went to %v while %s held a slow request; want all but at most one on the other pod", quick, busy)
	}
}

// TestAffinityCookie: with affinity cookie, a client that returns the
// cookie stays on one pod for 20 requests, and still after a scale-up.
func TestAffinityCookie(t *testing.T) {
	ns, b := cluster.Setup(t, "sticky")
	cluster.Echo(t, ns, "app", 3)
	cluster.MustApply(t, ns, ingressWith("app", "sticky.example", "app", map[string]string{"affinity": "cookie", "affinity-cookie-name": "route"}))
	b.WaitServed(t, "sticky.example", "/", "app", 20*time.Second)
	waitConfig(t, b, "cookie route ")
	var resp *framework.Response
	err := framework.WaitFor(context.Background(), 20*time.Second, "an affinity cookie", func(ctx context.Context) (bool, error) {
		var err error
		resp, err = framework.Do(ctx, b.Request("sticky.example", "/"))
		return err == nil && resp.Header.Get("Set-Cookie") != "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cookie := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "route=") {
		t.Fatalf("first answer's Set-Cookie %q, want the route cookie", cookie)
	}
	cookie, _, _ = strings.Cut(cookie, ";")
	first, err := resp.Echo()
	if err != nil {
		t.Fatal(err)
	}
	stays := func(phase string) {
		for i := 0; i < 20; i++ {
			r := b.Request("sticky.example", "/")
			r.Header = http.Header{"Cookie": {cookie}}
			e, err := framework.GetEcho(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if e.Pod != first.Pod {
				t.Fatalf("%s: request %d with cookie %s went to %s, want %s", phase, i+1, cookie, e.Pod, first.Pod)
			}
		}
	}
	stays("3 pods")
	if err := cluster.Scale(context.Background(), ns, "app", 5); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(context.Background(), ns, "app", 5, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServedByExactly(t, "sticky.example", framework.Pods(eps), 20*time.Second)
	stays("after scaling to 5 pods")
}

// waitConfig waits until haproxy.cfg holds line.
func waitConfig(t *testing.T, b *framework.Bollard, line string) {
	t.Helper()
	err := framework.WaitFor(context.Background(), 20*time.Second, "haproxy.cfg with "+line, func(context.Context) (bool, error) {
		data, err := os.ReadFile(filepath.Join(b.ConfigDir, "haproxy.cfg"))
		return err == nil && strings.Contains(string(data), line), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
