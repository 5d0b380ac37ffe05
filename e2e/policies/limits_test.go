package policies

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestLimitRPS: limit-rps N lets exactly N of a burst through per client
// address and Ingress; another Ingress on the same Service is never
// limited; a changed limit is a map update.
func TestLimitRPS(t *testing.T) {
	ns, b := cluster.Setup(t, "rps")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("free", "free.example", nil, root("app")))
	cluster.MustApply(t, ns, ingress("limited", "rps.example", map[string]string{"limit-rps": "5"}, root("app")))
	cluster.MustApply(t, ns, ingress("also", "also.example", map[string]string{"limit-rps": "3"}, root("app")))
	b.WaitServed(t, "free.example", "/", "app", waitBudget)
	b.WaitServed(t, "rps.example", "/", "app", waitBudget)
	b.WaitServed(t, "also.example", "/", "app", waitBudget)
	start := b.Reloads(t)
	time.Sleep(2500 * time.Millisecond) // the requests of WaitServed leave the sliding second

	got := burst(t, b, "rps.example", 10)
	want := []int{200, 200, 200, 200, 200, 429, 429, 429, 429, 429}
	if !slices.Equal(got, want) {
		t.Errorf("limit-rps 5, 10 requests back to back on one connection: %v, want %v", got, want)
	}
	if free := burst(t, b, "free.example", 20); slices.ContainsFunc(free, func(s int) bool { return s != http.StatusOK }) {
		t.Errorf("an Ingress without a policy on the same Service, 20 requests right after: %v, want all 200", free)
	}
	// Counted per Ingress: another limited Ingress has its own count.
	if got, want := burst(t, b, "also.example", 5), []int{200, 200, 200, 429, 429}; !slices.Equal(got, want) {
		t.Errorf("limit-rps 3 on another Ingress, 5 requests right after: %v, want %v", got, want)
	}

	cluster.MustApply(t, ns, ingress("limited", "rps.example", map[string]string{"limit-rps": "1000"}, root("app")))
	var last []int
	err := framework.WaitFor(context.Background(), waitBudget, "limit-rps 1000: 10 requests all 200", func(context.Context) (bool, error) {
		time.Sleep(2100 * time.Millisecond) // refused requests count too: let them age out
		last = burst(t, b, "rps.example", 10)
		return !slices.ContainsFunc(last, func(s int) bool { return s != http.StatusOK }), nil
	})
	if err != nil {
		t.Fatalf("%v (last burst %v)", err, last)
	}
	b.AssertReloads(t, start, 0, "limit-rps 5 → 1000")
}

// burst sends n GET / to host back to back on one keep-alive connection
// and returns the statuses.
func burst(t *testing.T, b *framework.Bollard, host string, n int) []int {
	t.Helper()
	addr := b.Request(host, "/").Addr
	var dials atomic.Int32
	tr := &http.Transport{
		Proxy:           nil,
		MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		req, err := http.NewRequest(http.MethodGet, "http://"+host+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d of a burst to %s: %v", i+1, host, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	t.Logf("burst of %d to %s: %d connection(s)", n, host, dials.Load())
	return out
}

// TestLimitConnections: limit-connections N refuses a request while N
// requests of the client to the Ingress are in flight; a changed limit is
// a map update.
func TestLimitConnections(t *testing.T) {
	ns, b := cluster.Setup(t, "conns")
	cluster.Echo(t, ns, "app", 1)
	cluster.MustApply(t, ns, ingress("limited", "conns.example", map[string]string{"limit-connections": "2"}, root("app")))
	b.WaitServed(t, "conns.example", "/", "app", waitBudget)
	start := b.Reloads(t)

	statuses := concurrent(t, b, "conns.example", 3)
	if n := count(statuses, http.StatusTooManyRequests); n != 1 || count(statuses, http.StatusOK) != 2 {
		t.Errorf("limit-connections 2, 3 concurrent slow requests: %v, want two 200 and one 429", statuses)
	}
	// The count drops when requests end.
	if got := do(t, b.Request("conns.example", "/")).Status; got != http.StatusOK {
		t.Errorf("a request after the slow ones ended: status %d, want 200", got)
	}

	cluster.MustApply(t, ns, ingress("limited", "conns.example", map[string]string{"limit-connections": "5"}, root("app")))
	var last []int
	err := framework.WaitFor(context.Background(), waitBudget, "limit-connections 5: 3 concurrent requests all 200", func(context.Context) (bool, error) {
		last = concurrent(t, b, "conns.example", 3)
		return count(last, http.StatusOK) == 3, nil
	})
	if err != nil {
		t.Fatalf("%v (last %v)", err, last)
	}
	b.AssertReloads(t, start, 0, "limit-connections 2 → 5")
}

// concurrent sends n requests that take 2 s at the backend at once, each
// on its own connection, and returns their statuses in arrival order.
func concurrent(t *testing.T, b *framework.Bollard, host string, n int) []int {
	t.Helper()
	var mu sync.Mutex
	var out []int
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.Request(host, "/?delay=2s")
			r.Timeout = 10 * time.Second
			s := -1
			if resp, err := framework.Do(context.Background(), r); err == nil {
				s = resp.Status
			} else {
				t.Error(fmt.Errorf("a concurrent request: %w", err))
			}
			mu.Lock()
			out = append(out, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func count(statuses []int, status int) int {
	n := 0
	for _, s := range statuses {
		if s == status {
			n++
		}
	}
	return n
}
