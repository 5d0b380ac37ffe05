package hostile

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestTenancy runs a controller of its own, watching every namespace (the
// shared hostile controller watches one), with
// --host-ownership=first-namespace and --endpoint-cidrs set to the pod
// subnet: a younger Ingress of another namespace cannot add a path to a
// host, and an endpoint outside the subnet is left out while the
// harness's pods serve.
func TestTenancy(t *testing.T) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	if !cluster.Subnet.IsValid() {
		t.Fatal("the cluster's pod subnet is unknown")
	}
	ctx := context.Background()
	nsA, nsB := cluster.CreateNamespace(t, "tenant-a"), cluster.CreateNamespace(t, "tenant-b")
	b := cluster.StartBollard(t, framework.BollardOptions{Args: []string{
		"--host-ownership=first-namespace", "--endpoint-cidrs=" + cluster.Subnet.String(),
	}})
	host := nsA + ".tenancy.example"
	cluster.Echo(t, nsA, "web-a", 1)
	cluster.Echo(t, nsB, "web-b", 1)
	cluster.MustApply(t, nsA, framework.IngressYAML("owner", host, framework.Path{Path: "/", Type: "Prefix", Service: "web-a"}))
	b.WaitServed(t, host, "/", "web-a", 30*time.Second)

	t.Run("another namespace cannot add a path", func(t *testing.T) {
		// creationTimestamp has whole seconds: make B's Ingress younger
		// for certain rather than by the namespace-name tie-break.
		owner, err := cluster.Client.NetworkingV1().Ingresses(nsA).Get(ctx, "owner", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(owner.CreationTimestamp.Add(1100 * time.Millisecond)))
		ownHost := nsB + ".tenancy.example"
		cluster.MustApply(t, nsB, fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: intruder}
spec:
  ingressClassName: bollard
  rules:
  - host: %q
    http: {paths: [{path: /b, pathType: Prefix, backend: {service: {name: web-b, port: {number: 80}}}}]}
  - host: %q
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web-b, port: {number: 80}}}}]}
`, host, ownHost))
		// B's other host serving shows that the controller has applied
		// B's Ingress.
		b.WaitServed(t, ownHost, "/", "web-b", 30*time.Second)
		want := fmt.Sprintf("spec.rules[0].host: host %q is owned by namespace %s (oldest Ingress %s/owner)", host, nsA, nsA)
		if err := cluster.WaitWarning(ctx, nsB, "intruder", want, 15*time.Second); err != nil {
			t.Fatalf("%v\nevents: %v", err, events(t, nsB, "Ingress", "intruder"))
		}
		for i := 0; i < 10; i++ {
			echo, err := framework.GetEcho(ctx, b.Request(host, "/b"))
			if err != nil {
				t.Fatal(err)
			}
			if echo.Service != "web-a" {
				t.Fatalf("%s/b answered by %s, want the owner's web-a", host, echo.Service)
			}
			time.Sleep(settle / 10)
		}
	})

	t.Run("endpoint outside --endpoint-cidrs is left out", func(t *testing.T) {
		// The API server (1.33 and later) refuses loopback and link-local
		// addresses itself, so this case uses an address of the
		// harness's range outside this cluster's pod subnet. No request
		// is sent to it: if it were accepted, HAProxy would try it.
		outside := ""
		for _, a := range []string{"198.19.255.254", "198.18.255.254"} {
			if !cluster.Subnet.Contains(netip.MustParseAddr(a)) {
				outside = a
				break
			}
		}
		cluster.MustApply(t, nsA, `apiVersion: v1
kind: Service
metadata: {name: outside}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: outside-1, labels: {kubernetes.io/service-name: outside}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [`+outside+`], conditions: {ready: true}}]
`)
		// A younger Ingress of the owner namespace may add a path.
		cluster.MustApply(t, nsA, framework.IngressYAML("outside", host, framework.Path{Path: "/outside", Type: "Prefix", Service: "outside"}))
		want := "endpoints[0].addresses[0]: address " + outside + " is outside the ranges of --endpoint-cidrs"
		if err := cluster.WaitWarning(ctx, nsA, "outside-1", want, 15*time.Second); err != nil {
			t.Fatalf("%v\nevents: %v", err, events(t, nsA, "EndpointSlice", "outside-1"))
		}
		// The files follow the applied config at most 1 s behind.
		err := framework.WaitFor(ctx, 10*time.Second, "the /outside route in the maps", func(context.Context) (bool, error) {
			routed := false
			for rel, data := range framework.ReadFiles(t, b.ConfigDir, nil) {
				if strings.Contains(data, outside) {
					return false, fmt.Errorf("%s holds the refused address %s", rel, outside)
				}
				routed = routed || (strings.HasPrefix(rel, "maps") && strings.Contains(data, host+"/outside/"))
			}
			return routed, nil
		})
		if err != nil {
			t.Fatalf("%v\nlog:\n%s", err, b.Log())
		}
		// The harness's pods, inside the prefix, still serve.
		b.WaitServed(t, host, "/", "web-a", 5*time.Second)
	})
}
