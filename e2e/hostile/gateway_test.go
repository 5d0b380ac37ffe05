package hostile

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestHAProxyRefusedHTTPRoute: an HTTPRoute that the model accepts but
// haproxy -c refuses. Only that route is left out, with a
// ConfigCheckFailed Warning and Accepted=False in its status; another new
// route and an Ingress are still served; fixing the route brings it in.
func TestHAProxyRefusedHTTPRoute(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := gatewayTenant(t, "refusedroute", "hostile-refused",
		"--haproxy-binary", haproxyRefusing(t, `"refused.example"`, "refused.example is refused by this HAProxy."))
	cluster.MustApply(t, ns, httpRoute("good", "good.example"))
	addr := gatewayAddress(t, ns, "gw")
	waitGatewayServes(t, addr, "good.example", "web")

	cluster.MustApply(t, ns, httpRoute("bad", "refused.example"))
	msg := waitRefused(t, ns, "bad", "refused.example is refused by this HAProxy")
	waitRouteCondition(t, ns, "bad", "Accepted", "False", "HAProxy refused")

	// Everything else goes on: another route (a reload) and an Ingress.
	cluster.MustApply(t, ns, httpRoute("later", "later.example"))
	waitGatewayServes(t, addr, "later.example", "web")
	cluster.MustApply(t, ns, framework.IngressYAML("ing", healthyHost, framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	if resp, err := framework.Do(context.Background(), framework.Request{Addr: net.JoinHostPort(addr, "80"), Host: "refused.example"}); err != nil || resp.Status != 404 {
		t.Errorf("the refused route's host answered %v, %v; want 404", resp, err)
	}

	// Fixed: the route is served.
	cluster.MustApply(t, ns, httpRoute("bad", "fixed.example"))
	waitGatewayServes(t, addr, "fixed.example", "web")
	waitRouteCondition(t, ns, "bad", "Accepted", "True", "")
	t.Logf("refused HTTPRoute left out (%q); another route and an Ingress served; the fixed route served", msg)
}

// gatewayTenant starts Bollard serving the Gateway API on loopback
// addresses (and args) for a new namespace, with one web pod, the
// GatewayClass class (deleted at the end) and the Gateway gw on port 80.
func gatewayTenant(t *testing.T, prefix, class string, args ...string) (string, *framework.Bollard) {
	t.Helper()
	ns, b := cluster.Setup(t, prefix, append([]string{"--gateway-api=on", "--gateway-loopback-addresses"}, args...)...)
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "", "delete", "gatewayclass", class, "--ignore-not-found")
		if t.Failed() {
			t.Logf("bollard log:\n%s", framework.TailLines(b.Log(), 80))
		}
	})
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, "", fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %s}
spec: {controllerName: bollard.io/gateway-controller}`, class))
	cluster.MustApply(t, ns, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: %s
  listeners: [{name: http, port: 80, protocol: HTTP}]`, class))
	return ns, b
}

func httpRoute(name, host string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%s]
  rules: [{backendRefs: [{name: web, port: 80}]}]`, name, host)
}

// gatewayAddress waits for the Gateway's first status address.
func gatewayAddress(t *testing.T, ns, name string) string {
	t.Helper()
	var addr string
	err := framework.WaitFor(context.Background(), 30*time.Second, "Gateway address", func(ctx context.Context) (bool, error) {
		out, err := cluster.Kubectl(ctx, "", "get", "gateway", "-n", ns, name, "-o", "jsonpath={.status.addresses[0].value}")
		addr = strings.TrimSpace(out)
		return err == nil && addr != "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func waitGatewayServes(t *testing.T, addr, host, service string) {
	t.Helper()
	var last string
	err := framework.WaitFor(context.Background(), 30*time.Second, host+" served by "+service, func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, framework.Request{Addr: net.JoinHostPort(addr, "80"), Host: host})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = e.Service
		return e.Service == service, nil
	})
	if err != nil {
		t.Fatalf("%v (last: %s)", err, last)
	}
}

// waitRouteCondition waits until the route's first parent has the
// condition with status and a message holding text.
func waitRouteCondition(t *testing.T, ns, name, kind, status, text string) {
	t.Helper()
	var last string
	err := framework.WaitFor(context.Background(), 30*time.Second, "HTTPRoute "+name+" "+kind+"="+status, func(ctx context.Context) (bool, error) {
		out, err := cluster.Kubectl(ctx, "", "get", "httproute", "-n", ns, name, "-o",
			fmt.Sprintf(`jsonpath={.status.parents[0].conditions[?(@.type=="%s")].status}|{.status.parents[0].conditions[?(@.type=="%s")].message}`, kind, kind))
		last = out
		got, message, _ := strings.Cut(strings.TrimSpace(out), "|")
		return err == nil && got == status && strings.Contains(message, text), nil
	})
	if err != nil {
		t.Fatalf("%v (last: %q)", err, last)
	}
}

// TestGatewayAfterHAProxyRestart: HAProxy's master is killed while a
// Gateway is served. The restarted HAProxy loads the Gateway frontend
// from the files on disk, an endpoint change made meanwhile reaches it,
// and a route added afterwards is served.
func TestGatewayAfterHAProxyRestart(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := gatewayTenant(t, "gwrestart", "hostile-restart")
	cluster.MustApply(t, ns, httpRoute("before", "before.example"))
	addr := gatewayAddress(t, ns, "gw")
	waitGatewayServes(t, addr, "before.example", "web")

	old, err := b.MasterPID()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Scale(context.Background(), ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(context.Background(), ns, "web", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = framework.WaitFor(context.Background(), 30*time.Second, "a new HAProxy master", func(context.Context) (bool, error) {
		pid, err := b.MasterPID()
		return err == nil && pid != old, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both pods answer through the Gateway: the restarted HAProxy has the
	// frontend and the endpoints.
	want := map[string]bool{}
	for _, p := range framework.Pods(eps) {
		want[p] = true
	}
	err = framework.WaitFor(context.Background(), 30*time.Second, "both web pods through the Gateway", func(ctx context.Context) (bool, error) {
		seen := map[string]bool{}
		for range 20 {
			e, err := framework.GetEcho(ctx, framework.Request{Addr: net.JoinHostPort(addr, "80"), Host: "before.example"})
			if err != nil {
				return false, nil
			}
			seen[e.Pod] = true
		}
		return len(seen) == len(want), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, httpRoute("after", "after.example"))
	waitGatewayServes(t, addr, "after.example", "web")
	waitGatewayServes(t, addr, "before.example", "web")
}
