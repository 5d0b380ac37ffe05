// Package hostile applies hostile objects next to a healthy Ingress that is
// serving, through the real API server, a real Bollard controller and a
// real HAProxy, and checks that nothing is injected, nothing is lost and
// nobody is blocked.
package hostile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.8.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

const (
	healthyHost = "healthy.example"
	// settle is how long a case waits after its outcome, so that a late
	// reload, check failure or failed request still counts against it.
	settle = 400 * time.Millisecond
)

// env is one Bollard watching one namespace, with a healthy Ingress that
// serves under load for the whole test.
type env struct {
	ns, other string // watched namespace; a namespace Bollard does not watch
	b         *framework.Bollard
	load      *framework.Load
	ca        *tlscert.Authority
	keys      [][]byte // private keys the test put into Secrets
	results   []string // one line per case, for the summary table
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ns, b := cluster.Setup(t, "hostile")
	e := &env{ns: ns, b: b, other: cluster.CreateNamespace(t, "unwatched")}
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("healthy", healthyHost, framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.ca = ca
	e.load = framework.StartLoad(t, b.Request(healthyHost, "/"), framework.LoadOptions{
		Interval: 10 * time.Millisecond, MaxDuration: 10 * time.Minute,
		Check: func(r *framework.Response) error {
			echo, err := r.Echo()
			if err == nil && (r.Status != 200 || echo.Service != "web") {
				err = fmt.Errorf("status %d from %q", r.Status, echo.Service)
			}
			return err
		},
	})
	return e
}

// counters are the metrics that must not move during a case.
type counters struct{ checkFailures, failedReloads float64 }

func (e *env) counters(t *testing.T) counters {
	t.Helper()
	var c counters
	for _, v := range e.b.MetricSamples(t, "bollard_config_check_failures_total") {
		c.checkFailures += v
	}
	for labels, v := range e.b.MetricSamples(t, "bollard_reloads_total") {
		if !strings.Contains(labels, `result="success"`) {
			c.failedReloads += v
		}
	}
	return c
}

// quiet checks, over [start, now), that the healthy route answered every
// sampled request and that no config check or reload failed since before.
func (e *env) quiet(t *testing.T, start time.Time, before counters) {
	t.Helper()
	if after := e.counters(t); after != before {
		t.Errorf("haproxy -c failures %v → %v, failed reloads %v → %v", before.checkFailures, after.checkFailures, before.failedReloads, after.failedReloads)
	}
	total, failed := e.load.Between(start, time.Now())
	if total == 0 {
		t.Errorf("no request to %s was sampled during the case", healthyHost)
	}
	for i, f := range failed {
		if i < 3 {
			t.Errorf("healthy route failed at %s: %v", f.At.Format("15:04:05.000"), f.Err)
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d requests to the healthy route failed", len(failed), total)
	}
}

// noPayload fails when any payload string appears in any file under the
// config dir (including staging leftovers and certificates).
func (e *env) noPayload(t *testing.T, payloads []string) {
	t.Helper()
	if len(payloads) == 0 {
		return
	}
	for rel, data := range framework.ReadFiles(t, e.b.ConfigDir, nil) {
		for _, p := range payloads {
			if strings.Contains(data, p) {
				t.Errorf("payload %q reached %s", p, filepath.Join(e.b.ConfigDir, rel))
			}
		}
	}
}

// waitEvent waits for a Warning Event on kind/name whose message names
// field and holds reason; it returns the message.
func (e *env) waitEvent(t *testing.T, kind, name, field, reason string) string {
	t.Helper()
	var msg, seen string
	err := framework.WaitFor(context.Background(), 15*time.Second, fmt.Sprintf("Warning Event on %s %s naming %s", kind, name, field), func(ctx context.Context) (bool, error) {
		evs, err := cluster.Client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
		})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			seen += ev.Type + " " + ev.Reason + ": " + ev.Message + "\n"
			if ev.Type == corev1.EventTypeWarning && strings.Contains(ev.Message, field) && strings.Contains(ev.Message, reason) {
				msg = ev.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v\nevents seen:\n%s", err, seen)
	}
	return msg
}

// events lists the Events on one object in namespace ns.
func events(t *testing.T, ns, kind, name string) []corev1.Event {
	t.Helper()
	evs, err := cluster.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs.Items
}

// create creates typed objects in namespace ns.
func create(ctx context.Context, ns string, objs ...any) error {
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *networkingv1.Ingress:
			o.Namespace = ns
			_, err = cluster.Client.NetworkingV1().Ingresses(ns).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Secret:
			o.Namespace = ns
			_, err = cluster.Client.CoreV1().Secrets(ns).Create(ctx, o, metav1.CreateOptions{})
		case *discoveryv1.EndpointSlice:
			o.Namespace = ns
			_, err = cluster.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Service:
			o.Namespace = ns
			_, err = cluster.Client.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
		default:
			return fmt.Errorf("create: unsupported %T", o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TestHostile runs every group against one controller and one healthy
// Ingress under continuous load, then checks the whole run.
func TestHostile(t *testing.T) {
	framework.Need(t, cluster)
	e := newEnv(t)
	start, before := time.Now(), e.counters(t)
	t.Run("ingress", func(t *testing.T) { runCases(t, e, ingressCases()) })
	t.Run("objects", func(t *testing.T) { runCases(t, e, objectCases(t, e)) })
	t.Run("haproxy-limits", func(t *testing.T) { runCases(t, e, limitCases(t, e)) })
	t.Run("semicolon-runtime", func(t *testing.T) { testSemicolonRuntime(t, e) })
	t.Run("last-good-ingress", func(t *testing.T) { testLastGoodIngress(t, e) })
	t.Run("last-good-certificate", func(t *testing.T) { testLastGoodCertificate(t, e) })
	t.Run("options", func(t *testing.T) { testOptions(t, e) })
	t.Run("security", func(t *testing.T) { testSecurity(t, e) })
	t.Run("converges", func(t *testing.T) { testConverges(t, e) })
	e.quiet(t, start, before)
	total, _ := e.load.Between(start, time.Now())
	t.Logf("healthy route: %d requests sampled over %s, all answered by web", total, time.Since(start).Round(time.Second))
	t.Logf("summary (class | case | layer | outcome):\n%s", strings.Join(e.results, "\n"))
}
