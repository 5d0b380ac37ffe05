package faults

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// waitServing waits until the healthy route answers again.
func waitServing(t *testing.T, b *framework.Bollard, timeout time.Duration) {
	t.Helper()
	err := framework.WaitFor(context.Background(), timeout, "the healthy route to answer", func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, b.Request(healthyHost, "/"))
		return err == nil && e.Service == "web", err
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Log())
	}
}

// waitLog waits until the controller logged text after offset n.
func waitLog(t *testing.T, b *framework.Bollard, n int, text string, timeout time.Duration) {
	t.Helper()
	err := framework.WaitFor(context.Background(), timeout, "log line "+text, func(context.Context) (bool, error) {
		return strings.Contains(logSince(b, n), text), nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, logSince(b, n))
	}
}

// trafficReaches checks that requests reach exactly the ready pods of web.
func trafficReaches(t *testing.T, b *framework.Bollard, ns string, host string, n int) {
	t.Helper()
	eps, err := cluster.ReadyEndpoints(context.Background(), ns, "web", n, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServedByExactly(t, host, framework.Pods(eps), 10*time.Second)
}

// TestWorkerKilled: SIGKILL of HAProxy's worker. HAProxy's master exits
// when its worker dies; the supervisor starts it again and the controller
// re-applies the runtime state (endpoints moved and a host added at run
// time before the kill). Serving is back within 2 s.
func TestWorkerKilled(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := setup(t, "worker", 3)
	if err := cluster.Scale(context.Background(), ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	apply(t, ns, "runtime", "runtime.example", "web")
	b.WaitServed(t, "runtime.example", "/", "web", 20*time.Second)
	trafficReaches(t, b, ns, healthyHost, 2)
	l := load(t, b)
	n := len(b.Log())
	oldMaster, _ := b.MasterPID()
	worker := workerPID(t, b)
	killed := time.Now()
	if err := syscall.Kill(worker, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitServing(t, b, 10*time.Second)
	waitLog(t, b, n, "re-applying state", 10*time.Second)
	time.Sleep(time.Second)
	o := measure(l, killed, time.Now())
	if o.recovered > 2*time.Second {
		t.Errorf("serving came back after %s, want within 2s (%s)", o.recovered, o)
	}
	newMaster, _ := b.MasterPID()
	b.WaitServed(t, "runtime.example", "/", "web", 5*time.Second)
	trafficReaches(t, b, ns, healthyHost, 2)
	if code := healthz(b); code != http.StatusOK {
		t.Errorf("/healthz %d after the restart", code)
	}
	report(t, "worker %d SIGKILL: %s; master %d → %d; runtime host and endpoints re-applied", worker, o, oldMaster, newMaster)
}

// detectGrace is how long after a kill /healthz may still answer 200: the
// supervisor learns of the exit from wait(2), then the controller's state.
const detectGrace = 200 * time.Millisecond

// TestMasterKilled: SIGKILL of HAProxy's master. Its worker exits; the
// supervisor starts HAProxy again, and /healthz answers 503 until it is
// back.
func TestMasterKilled(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := setup(t, "master", 2)
	trafficReaches(t, b, ns, healthyHost, 2)
	l := load(t, b)
	n := len(b.Log())
	old, err := b.MasterPID()
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		at   time.Time
		code int
	}
	var (
		mu     sync.Mutex
		probes []probe
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			p := probe{at: time.Now(), code: healthz(b)}
			mu.Lock()
			probes = append(probes, p)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The controller learns of the kill from the supervisor a moment
	// later: a probe in that moment still gets 200. Healthy again is the
	// first 200 after a 503.
	var healthyAt, downAt time.Time
	err = framework.WaitFor(context.Background(), 20*time.Second, "/healthz 503, then 200 from a new master", func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range probes {
			switch {
			case !p.at.After(killed):
			case downAt.IsZero() && p.code != http.StatusOK:
				// 503, or no answer within the probe's 3 s (a kubelet
				// probe fails on either)
				downAt = p.at
			case !downAt.IsZero() && p.code == http.StatusOK:
				healthyAt = p.at
				return true, nil
			}
		}
		return false, nil
	})
	close(stop)
	<-done
	if err != nil {
		mu.Lock()
		var seen []string
		for _, p := range probes {
			if p.at.After(killed.Add(-100 * time.Millisecond)) {
				seen = append(seen, fmt.Sprintf("%+dms:%d", p.at.Sub(killed).Milliseconds(), p.code))
			}
		}
		mu.Unlock()
		t.Fatalf("%v\nprobes since the kill: %s\n%s", err, strings.Join(seen, " "), logSince(b, n))
	}
	waitServing(t, b, 5*time.Second)
	waitLog(t, b, n, "re-applying state", 10*time.Second)
	time.Sleep(time.Second)
	o := measure(l, killed, time.Now())
	unhealthy := 0
	for _, p := range probes {
		switch {
		case p.at.Before(killed):
		case p.at.Before(downAt) && p.at.Sub(killed) < detectGrace:
			// Not yet known to be down.
		case p.at.Before(healthyAt) && p.code != http.StatusServiceUnavailable:
			t.Errorf("/healthz answered %d at %s, before HAProxy was back", p.code, p.at.Sub(killed))
		case p.at.Before(healthyAt):
			unhealthy++
		}
	}
	if unhealthy == 0 {
		t.Error("/healthz never answered 503 while HAProxy was down")
	}
	if _, failed := l.Between(healthyAt.Add(500*time.Millisecond), time.Now()); len(failed) > 0 {
		t.Errorf("%d requests failed after /healthz said healthy again", len(failed))
	}
	newMaster, _ := b.MasterPID()
	if newMaster == old || newMaster == 0 {
		t.Errorf("master PID %d → %d", old, newMaster)
	}
	report(t, "master %d SIGKILL: %s; /healthz 503 after %s ×%d, 200 again after %s; new master %d",
		old, o, downAt.Sub(killed).Round(time.Millisecond), unhealthy, healthyAt.Sub(killed).Round(time.Millisecond), newMaster)
}

// TestControllerRestart: SIGKILL of the controller, then a new one. HAProxy
// serves alone meanwhile and is adopted with no reload; no request fails.
func TestControllerRestart(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := setup(t, "restart", 2)
	l := load(t, b)
	reloads, master := b.Reloads(t), 0
	master, _ = b.MasterPID()
	from := time.Now()
	b.Kill(t)
	time.Sleep(2 * time.Second) // HAProxy serves alone
	restart := time.Now()
	b.Start(t)
	ready := time.Since(restart)
	time.Sleep(2 * time.Second)
	o := noFailures(t, l, from, "across the controller restart")
	if got := b.Reloads(t); got != reloads {
		t.Errorf("restarting the controller with nothing changed caused %d reloads", got-reloads)
	}
	if got, _ := b.MasterPID(); got != master {
		t.Errorf("HAProxy was replaced (master %d → %d)", master, got)
	}
	apply(t, ns, "after", "after.example", "web")
	b.WaitServed(t, "after.example", "/", "web", 10*time.Second)
	report(t, "controller SIGKILL + restart: %s; ready again after %s; 0 reloads; HAProxy adopted (master %d)", o, ready.Round(time.Millisecond), master)

	// The adopted HAProxy is not the new controller's child; when its
	// master dies the controller still starts HAProxy again.
	n := len(b.Log())
	killed := time.Now()
	if err := syscall.Kill(master, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitServing(t, b, 15*time.Second)
	waitLog(t, b, n, "re-applying state", 10*time.Second)
	b.WaitServed(t, "after.example", "/", "web", 5*time.Second)
	if code := healthz(b); code != http.StatusOK {
		t.Errorf("/healthz %d after HAProxy was started again", code)
	}
	time.Sleep(500 * time.Millisecond)
	o = measure(l, killed, time.Now())
	newMaster, _ := b.MasterPID()
	report(t, "adopted master %d SIGKILL: %s; new master %d started by the restarted controller", master, o, newMaster)
}
