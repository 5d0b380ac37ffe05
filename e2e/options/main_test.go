// Package options runs the backend options (bollard.io annotations) end to
// end: the real test cluster, `bollard controller`, a real HAProxy in
// managed mode and echo pods. Each test proves an option's behaviour with
// requests through HAProxy, and counts reloads: options read from maps
// change with none, backend directives with exactly one.
package options

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.11.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

// ingressWith renders an Ingress of one Prefix "/" rule for host → service
// port 80 with the given bollard.io annotations (names without the prefix).
func ingressWith(name, host, service string, options map[string]string) string {
	y := framework.IngressYAML(name, host, framework.Path{Path: "/", Type: "Prefix", Service: service})
	return framework.WithAnnotations(y, name, options)
}

// serviceWith renders the echo Service of name (port 80 → 8080) with
// annotations.
func serviceWith(name string, options map[string]string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s, annotations: {%s}}
spec:
  selector: {app: %s}
  ports: [{name: http, port: 80, targetPort: %d, protocol: TCP}]
`, name, framework.BollardAnnotations(options), name, framework.EchoPort)
}

// waitStatus waits until a request answers with status.
func waitStatus(t *testing.T, r framework.Request, status int, timeout time.Duration) *framework.Response {
	t.Helper()
	var last *framework.Response
	err := framework.WaitFor(context.Background(), timeout, fmt.Sprintf("%s%s answers %d", r.Host, r.Path, status), func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, r)
		if err != nil {
			return false, nil
		}
		last = resp
		return resp.Status == status, nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("%v (last status %d, body %.200q)", err, last.Status, last.Body)
		}
		t.Fatal(err)
	}
	return last
}

// status sends r once and returns its status, failing on a transport error.
func status(t *testing.T, r framework.Request) int {
	t.Helper()
	resp, err := framework.Do(context.Background(), r)
	if err != nil {
		t.Fatalf("%s %s%s: %v", r.Method, r.Host, r.Path, err)
	}
	return resp.Status
}
