// Package faults breaks what Bollard depends on (the API server, HAProxy's
// worker and master, the controller itself, the config dir, the master
// socket) while bounded load runs against a healthy route, and counts the
// requests that failed and the time it took to recover.
package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.9.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

const healthyHost = "healthy.example"

// setup makes a namespace with an echo Deployment "web" of n pods, a
// controller watching it with extra args, and the healthy Ingress.
func setup(t *testing.T, prefix string, n int32, args ...string) (string, *framework.Bollard) {
	t.Helper()
	ns, b := cluster.Setup(t, prefix, args...)
	cluster.Echo(t, ns, "web", n)
	apply(t, ns, "healthy", healthyHost, "web")
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	return ns, b
}

func apply(t *testing.T, ns, name, host, service string) {
	t.Helper()
	cluster.MustApply(t, ns, framework.IngressYAML(name, host, framework.Path{Path: "/", Type: "Prefix", Service: service}))
}

// load sends a request to the healthy route every 10 ms.
func load(t *testing.T, b *framework.Bollard) *framework.Load {
	t.Helper()
	return framework.StartLoad(t, b.Request(healthyHost, "/"), framework.LoadOptions{Interval: 10 * time.Millisecond, MaxDuration: 5 * time.Minute})
}

// outage is what the load saw from a fault on: the failed requests, and
// how long after the fault the route answered again for good.
type outage struct {
	total, failed int
	recovered     time.Duration // 0 when nothing failed
}

func (o outage) String() string {
	if o.failed == 0 {
		return fmt.Sprintf("0 of %d requests failed", o.total)
	}
	return fmt.Sprintf("%d of %d requests failed, serving again after %s", o.failed, o.total, o.recovered.Round(time.Millisecond))
}

// measure reads the load between from and to.
func measure(l *framework.Load, from, to time.Time) outage {
	total, failed := l.Between(from, to)
	o := outage{total: total, failed: len(failed)}
	if len(failed) > 0 {
		// The first success after the last failure ends the outage.
		if ok, found := l.FirstSuccessAfter(failed[len(failed)-1].At); found {
			o.recovered = ok.Sub(from)
		} else {
			o.recovered = to.Sub(from)
		}
	}
	return o
}

func noFailures(t *testing.T, l *framework.Load, from time.Time, what string) outage {
	t.Helper()
	// A window shorter than one slow request holds no sample; wait for one
	// so that "0 failed" always means requests were made.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if total, _ := l.Between(from, time.Now()); total > 0 {
			break
		}
	}
	o := measure(l, from, time.Now())
	_, failed := l.Between(from, time.Now())
	for i, f := range failed {
		if i < 3 {
			t.Errorf("%s: request at %s failed: %v", what, f.At.Format("15:04:05.000"), f.Err)
		}
	}
	if o.failed > 0 || o.total == 0 {
		t.Errorf("%s: %s", what, o)
	}
	return o
}

func processes(t *testing.T, b *framework.Bollard) []haproxy.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	procs, err := haproxy.NewMaster(filepath.Join(b.RuntimeDir, "master.sock"), nil).Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return procs
}

func workerPID(t *testing.T, b *framework.Bollard) int {
	t.Helper()
	for _, p := range processes(t, b) {
		if p.Role == "worker" && !p.Old {
			return p.PID
		}
	}
	t.Fatal("no current worker in show proc")
	return 0
}

// healthz returns the status of the controller's /healthz.
func healthz(b *framework.Bollard) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(b.Health) + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// reloads sums bollard_reloads_total by result.
func reloads(t *testing.T, b *framework.Bollard) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for labels, v := range b.MetricSamples(t, "bollard_reloads_total") {
		_, result, _ := strings.Cut(labels, `result="`)
		result, _, _ = strings.Cut(result, `"`)
		out[result] += v
	}
	return out
}

// logSince returns the controller's log after the first n bytes.
func logSince(b *framework.Bollard, n int) string {
	log := b.Log()
	if n > len(log) {
		return ""
	}
	return log[n:]
}

// report collects one line per fault for the summary of the run.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("RESULT %s: %s", t.Name(), fmt.Sprintf(format, args...))
}
