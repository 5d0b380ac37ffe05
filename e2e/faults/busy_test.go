package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// bulkIngresses of 1,000 paths each, every path to a Service of its own
// that does not exist: 1,000 backends of 8 slots per Ingress, which makes
// each HAProxy reload long enough to keep the master socket busy.
const bulkIngresses = 2

func bulkIngress(i int) *networkingv1.Ingress {
	var paths []networkingv1.HTTPIngressPath
	for j := 0; j < 1000; j++ {
		paths = append(paths, mt.Path("Exact", fmt.Sprintf("/p%d", j), fmt.Sprintf("ghost-%d-%d", i, j), 80))
	}
	return mt.Ingress("", fmt.Sprintf("bulk-%d", i), mt.Rule(fmt.Sprintf("bulk-%d.example", i), paths...))
}

// TestMasterBusyDuringLongReload: while reloads the controller did not
// start keep HAProxy's master busy (it refuses connections while it
// re-executes), a change that needs a reload is made. The controller's
// reload retries with backoff and is not lost; the healthy route never
// fails.
func TestMasterBusyDuringLongReload(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns, b := setup(t, "busy", 1, "--log-level", "debug")
	if f := b.Features(t); f.ReloadStatus {
		// 3.x answers `reload` when the new worker is ready and keeps its
		// socket open meanwhile; its busy case, a reload refused while
		// another runs, is pkg/haproxy TestReloadWhileAnotherRuns.
		t.Skipf("HAProxy %s: the master does not refuse connections while it reloads", f.Version)
	}
	cluster.Echo(t, ns, "late", 1)
	for i := 0; i < bulkIngresses; i++ {
		if _, err := cluster.Client.NetworkingV1().Ingresses(ns).Create(ctx, bulkIngress(i), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := framework.WaitFor(ctx, 90*time.Second, "the bulk backends", func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, b.Request(fmt.Sprintf("bulk-%d.example", bulkIngresses-1), "/p999"))
		return err == nil && resp.Status == 503, err
	})
	if err != nil {
		t.Fatal(err)
	}
	// How long one reload of this config keeps the master busy.
	ext := haproxy.NewMaster(filepath.Join(b.RuntimeDir, "master.sock"), nil)
	defer ext.Close()
	start := time.Now()
	if err := ext.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	reloadTook := time.Since(start)
	l := load(t, b)
	before, n := reloads(t, b), len(b.Log())

	// Reload again and again from outside for busyFor.
	const busyFor = 6 * time.Second
	var external, refused atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for deadline := time.Now().Add(busyFor); time.Now().Before(deadline); {
			if err := ext.Reload(ctx); err == nil {
				external.Add(1)
			} else {
				refused.Add(1)
			}
		}
	}()
	time.Sleep(reloadTook / 4) // the first outside reload is under way
	from := time.Now()
	apply(t, ns, "late", "late.example", "late")
	b.WaitServed(t, "late.example", "/", "late", 90*time.Second)
	served := time.Since(from)
	<-done
	var after map[string]float64
	err = framework.WaitFor(ctx, 60*time.Second, "the controller's reload to finish", func(context.Context) (bool, error) {
		after = reloads(t, b)
		return after["success"]+after["error"]+after["check_failed"] > before["success"]+before["error"]+before["check_failed"], nil
	})
	if err != nil {
		t.Errorf("%v:\n%s", err, logSince(b, n))
	}
	log := logSince(b, n)
	retries := strings.Count(log, "master socket busy; retrying")
	if after["success"] <= before["success"] || after["error"] != before["error"] || after["check_failed"] != before["check_failed"] {
		t.Errorf("reload results before %v, after %v: want more successes and nothing else", before, after)
	}
	if retries == 0 {
		t.Errorf("the controller never found the master busy (outside reloads %d, each %s); the test proved nothing", external.Load(), reloadTook)
	}
	// "sync failed; will retry", not a reload cause such as "resync failed".
	if strings.Contains(log, "sync failed; will retry") {
		t.Errorf("a sync failed while the master was busy:\n%s", lineWith(log, "sync failed; will retry"))
	}
	o := noFailures(t, l, from, "while the master was busy")
	report(t, "%d backends, one reload %s; %d outside reloads in %s; the controller's reload retried %d times on the busy master and succeeded (reloads %v → %v); the change was served after %s; %s; log: %s",
		bulkIngresses*1000+1, reloadTook.Round(time.Millisecond), external.Load(), busyFor, retries, before["success"], after["success"], served.Round(time.Millisecond), o, lineWith(log, "reloaded HAProxy"))
}
