// Package policies runs the route policies (bollard.io annotations on an
// Ingress: access lists, limits, headers, rewrites, redirects, CORS, HSTS)
// end to end: the real test cluster, `bollard controller`, a real HAProxy
// in managed mode and echo pods. Each test proves a policy with requests
// through HAProxy, and counts reloads: a changed value is a map update
// (none), the first policy on a backend and a new header name one.
package policies

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
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.12.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

// waitBudget bounds every wait of the suite.
const waitBudget = 30 * time.Second

// ingress renders an Ingress of one rule for host with paths and the given
// bollard.io annotations (names without the prefix).
func ingress(name, host string, options map[string]string, paths ...framework.Path) string {
	return framework.WithAnnotations(framework.IngressYAML(name, host, paths...), name, options)
}

// root is a Prefix "/" path to service.
func root(service string) framework.Path {
	return framework.Path{Path: "/", Type: "Prefix", Service: service}
}

// tlsIngress renders an Ingress of one Prefix "/" rule for host → service
// whose TLS section names secret.
func tlsIngress(name, host, service, secret string, options map[string]string) string {
	y := fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s}
spec:
  ingressClassName: bollard
  tls: [{hosts: [%s], secretName: %s}]
  rules:
  - host: %s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}
`, name, host, secret, host, service)
	return framework.WithAnnotations(y, name, options)
}

// do sends r once, failing the test on a transport error.
func do(t *testing.T, r framework.Request) *framework.Response {
	t.Helper()
	resp, err := framework.Do(context.Background(), r)
	if err != nil {
		t.Fatalf("%s %s%s: %v", r.Method, r.Host, r.Path, err)
	}
	return resp
}

// waitFor waits until a request's answer satisfies ok, and returns it.
func waitFor(t *testing.T, r framework.Request, what string, ok func(*framework.Response) bool) *framework.Response {
	t.Helper()
	var last *framework.Response
	err := framework.WaitFor(context.Background(), waitBudget, r.Host+r.Path+": "+what, func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, r)
		if err != nil {
			return false, err
		}
		last = resp
		return ok(resp), nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("%v (last status %d, headers %v, body %.200q)", err, last.Status, last.Header, last.Body)
		}
		t.Fatal(err)
	}
	return last
}

// waitStatus waits until a request answers with status.
func waitStatus(t *testing.T, r framework.Request, status int) *framework.Response {
	t.Helper()
	return waitFor(t, r, fmt.Sprintf("status %d", status), func(resp *framework.Response) bool { return resp.Status == status })
}

// echoOf decodes the echo answer of a 200, failing otherwise.
func echoOf(t *testing.T, resp *framework.Response) *framework.Echo {
	t.Helper()
	if resp.Status != 200 {
		t.Fatalf("status %d, want 200 from the echo backend: %.200q", resp.Status, resp.Body)
	}
	e, err := resp.Echo()
	if err != nil {
		t.Fatal(err)
	}
	return e
}
