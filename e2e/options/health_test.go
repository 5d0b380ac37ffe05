package options

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestHealthCheckTakesFailingPodOut: one of two ready pods fails
// health-check-path; with checks on, it gets no requests, while without
// them it got its share.
func TestHealthCheckTakesFailingPodOut(t *testing.T) {
	ns, b := cluster.Setup(t, "hc")
	ctx := context.Background()
	for name, env := range map[string]map[string]string{"hc-good": nil, "hc-bad": {"ECHO_HEALTH_STATUS": "500"}} {
		dep := framework.EchoDeploymentWithEnv(ns, name, 1, framework.EchoPort, env)
		// Both Deployments' pods are the Service hc's endpoints.
		dep.Spec.Template.Labels["pool"] = "hc"
		if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := framework.EchoService(ns, "hc", 80, framework.EchoPort)
	svc.Spec.Selector = map[string]string{"pool": "hc"}
	if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(ctx, ns, "hc", 2, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, ingressWith("hc", "hc.example", "hc", nil))
	b.WaitServedByExactly(t, "hc.example", framework.Pods(eps), 20*time.Second)

	start := b.Reloads(t)
	cluster.MustApply(t, ns, ingressWith("hc", "hc.example", "hc", map[string]string{"health-check-path": "/health", "health-check-interval": "500ms"}))
	waitConfig(t, b, "http-check send meth GET uri /health")
	// Once the check has failed, 20 requests in a row reach only the good pod.
	err = framework.WaitFor(ctx, 20*time.Second, "20 answers in a row from hc-good only", func(ctx context.Context) (bool, error) {
		for i := 0; i < 20; i++ {
			e, err := framework.GetEcho(ctx, b.Request("hc.example", "/"))
			if err != nil || !strings.HasPrefix(e.Pod, "hc-good-") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.AssertReloads(t, start, 1, "health checks switched on")
}

// TestTimeoutTunnelChangesWithoutReload: an idle WebSocket is closed after
// timeout-tunnel; a longer value, set at run time, keeps it open.
func TestTimeoutTunnelChangesWithoutReload(t *testing.T) {
	ns, b := cluster.Setup(t, "tunnel")
	cluster.Echo(t, ns, "ws", 1)
	cluster.MustApply(t, ns, ingressWith("ws", "ws.example", "ws", map[string]string{"timeout-tunnel": "1s"}))
	b.WaitServed(t, "ws.example", "/", "ws", 20*time.Second)
	start := b.Reloads(t)
	if open := idleWebSocket(t, b, "ws.example", 3*time.Second); open > 2*time.Second {
		t.Errorf("timeout-tunnel 1s: an idle WebSocket stayed open %v", open)
	}
	cluster.MustApply(t, ns, ingressWith("ws", "ws.example", "ws", map[string]string{"timeout-tunnel": "10s"}))
	err := framework.WaitFor(context.Background(), 20*time.Second, "an idle WebSocket open for 3s", func(context.Context) (bool, error) {
		return idleWebSocket(t, b, "ws.example", 3*time.Second) >= 3*time.Second, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.AssertReloads(t, start, 0, "timeout-tunnel 1s → 10s")
}

// idleWebSocket opens a WebSocket to /ws, sends nothing, and returns how
// long it stayed open, up to max.
func idleWebSocket(t *testing.T, b *framework.Bollard, host string, max time.Duration) time.Duration {
	t.Helper()
	conn, err := net.DialTimeout("tcp", b.Request(host, "/").Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket upgrade: %v (response %+v)", err, resp)
	}
	opened := time.Now()
	_ = conn.SetReadDeadline(opened.Add(max))
	buf := make([]byte, 512)
	for {
		if _, err := br.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return max
			}
			return time.Since(opened)
		}
	}
}
