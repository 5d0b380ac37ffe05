package faults

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestExternalHAProxyRestart: in --haproxy-mode external, HAProxy's
// container restarts (OOM, liveness probe) after endpoints moved between
// slots at run time. The restarted HAProxy loads the canonical layout from
// disk; the controller must notice and read the layout back, or the next
// endpoint removal puts the wrong slot in maintenance: a live pod loses its
// traffic and a removed address keeps getting it.
func TestExternalHAProxyRestart(t *testing.T) { externalHAProxyRestart(t) }

// TestExternalHAProxyRestartBackgroundBuilds is the same with every full
// build off the apply loop, as at 10k Ingresses: the pass after the
// read-back must not wait for a build to bring HAProxy in step.
func TestExternalHAProxyRestartBackgroundBuilds(t *testing.T) {
	externalHAProxyRestart(t, "--background-build-after=1ns")
}

func externalHAProxyRestart(t *testing.T, args ...string) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	ns := cluster.CreateNamespace(t, "external")
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, External: true, Args: args})
	cluster.Echo(t, ns, "web", 3)
	apply(t, ns, "healthy", healthyHost, "web")
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	ctx := context.Background()
	eps, err := cluster.ReadyEndpoints(ctx, ns, "web", 3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServedByExactly(t, healthyHost, framework.Pods(eps), 10*time.Second)
	reloads := b.Reloads(t) // the bootstrap config was replaced by a reload

	// Move endpoints between slots at run time: two pods replaced.
	current := eps
	for _, victim := range []string{eps[0].Pod, eps[1].Pod} {
		current = replacePod(t, ns, victim, current)
		b.WaitServedByExactly(t, healthyHost, framework.Pods(current), 20*time.Second)
	}
	if got := b.Reloads(t); got != reloads {
		t.Fatalf("%d reloads for endpoint changes", got-reloads)
	}

	n := len(b.Log())
	b.RestartSidecar(t)
	// At once, before any periodic check: remove one more endpoint.
	if err := cluster.Scale(ctx, ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	after, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServedByExactly(t, healthyHost, framework.Pods(after), 15*time.Second)
	// HAProxy retries a refused connection on another server, so traffic
	// alone hides a removed address left in rotation (whose IP may be
	// another pod's by now): HAProxy's own server states must hold exactly
	// the current endpoints.
	backend := ns + "_web_80"
	var want []netip.AddrPort
	for _, ep := range after {
		want = append(want, netip.AddrPortFrom(ep.Addr, framework.EchoPort))
	}
	slices.SortFunc(want, func(a, b netip.AddrPort) int { return a.Compare(b) })
	var inRotation []netip.AddrPort
	err = framework.WaitFor(ctx, 10*time.Second, "HAProxy's servers in rotation to be the current endpoints", func(context.Context) (bool, error) {
		inRotation = b.ServingAddresses(t, backend)
		return slices.Equal(inRotation, want), nil
	})
	if err != nil {
		t.Fatalf("%v: in rotation %v, endpoints %v", err, inRotation, want)
	}
	// Settled: a run of requests reaches only current pods, every one of them.
	seen := map[string]int{}
	for range 60 {
		e, err := framework.GetEcho(ctx, b.Request(healthyHost, "/"))
		if err != nil {
			t.Fatalf("request after the restart: %v", err)
		}
		seen[e.Pod]++
	}
	for pod := range seen {
		if !slices.Contains(framework.Pods(after), pod) {
			t.Errorf("removed pod %s still gets traffic: %v", pod, seen)
		}
	}
	if len(seen) != len(after) {
		t.Errorf("traffic reached %v, want every one of %v", seen, framework.Pods(after))
	}
	if log := logSince(b, n); !strings.Contains(log, "read HAProxy's state back") {
		t.Errorf("the controller did not read the restarted HAProxy's state back:\n%s", log)
	}
	if got := b.Reloads(t); got != 0 {
		t.Errorf("the restarted HAProxy was reloaded %d times; the state should be read back, not reloaded", got)
	}
	report(t, "external HAProxy restarted after 2 runtime pod swaps; then 3→2 pods: traffic to exactly %v, 0 reloads", seen)
}

// replacePod deletes a pod at once; its ReplicaSet starts another. It
// returns the ready endpoints once the replacement serves.
func replacePod(t *testing.T, ns, pod string, before []framework.Endpoint) []framework.Endpoint {
	t.Helper()
	ctx := context.Background()
	if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	var eps []framework.Endpoint
	err := framework.WaitFor(ctx, 30*time.Second, "a replacement for "+pod, func(ctx context.Context) (bool, error) {
		got, err := cluster.ReadyEndpoints(ctx, ns, "web", len(before), 5*time.Second)
		if err != nil {
			return false, nil
		}
		eps = got
		return !slices.Contains(framework.Pods(got), pod), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return eps
}
