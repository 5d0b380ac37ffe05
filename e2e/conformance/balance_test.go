package conformance

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

func TestLoadBalancing(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-lb")
	cluster.Echo(t, ns, "dflt", 10)
	cluster.Echo(t, ns, "flaky", 2)
	if _, err := cluster.Client.CoreV1().Services(ns).Create(context.Background(), framework.EchoService(ns, "nobody", 80, 8080), metavOpts()); err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, onlyDefaultBackend)
	cluster.MustApply(t, ns, framework.IngressYAML("nobody", "nobody.example", framework.Path{Path: "/", Type: "Prefix", Service: "nobody"}))
	cluster.MustApply(t, ns, framework.IngressYAML("flaky", "flaky.example", framework.Path{Path: "/", Type: "Prefix", Service: "flaky"}))
	expectService(t, b, "any.example", "/", "dflt")
	t.Run("100 requests reach all 10 pods", func(t *testing.T) {
		record(t, "load balancing", "a default backend with 10 replicas: 100 requests reach all 10 pods")
		var seen map[string]int
		err := framework.WaitFor(context.Background(), converge, "all 10 pods served", func(ctx context.Context) (bool, error) {
			seen = map[string]int{}
			for i := 0; i < 100; i++ {
				e, err := framework.GetEcho(ctx, b.Request("any.example", "/"))
				if err != nil {
					return false, err
				}
				seen[e.Pod]++
			}
			return len(seen) == 10, nil
		})
		if err != nil {
			t.Errorf("%v: %v", err, seen)
		}
	})
	t.Run("no ready endpoints: quick 503", func(t *testing.T) {
		record(t, "load balancing", "a Service with 0 ready endpoints answers 503 quickly, with no hang")
		resp := expectStatus(t, b, "nobody.example", "/", http.StatusServiceUnavailable)
		if resp != nil && resp.Elapsed > time.Second {
			t.Errorf("503 took %s", resp.Elapsed)
		}
	})
	t.Run("not-ready pod gets no traffic", func(t *testing.T) {
		record(t, "load balancing", "a pod that becomes not-ready stops getting traffic")
		eps, err := cluster.ReadyEndpoints(context.Background(), ns, "flaky", 2, converge)
		if err != nil {
			t.Fatal(err)
		}
		victim := eps[0].Pod
		if _, err := cluster.Kubectl(context.Background(), "", "-n", ns, "annotate", "pod", victim, "testcluster.bollard.io/ready=false", "--overwrite"); err != nil {
			t.Fatal(err)
		}
		err = framework.WaitFor(context.Background(), converge, "the not-ready pod out of rotation", func(ctx context.Context) (bool, error) {
			for i := 0; i < 20; i++ {
				e, err := framework.GetEcho(ctx, b.Request("flaky.example", "/"))
				if err != nil {
					return false, err
				}
				if e.Pod == victim {
					return false, fmt.Errorf("%s still served", victim)
				}
			}
			return true, nil
		})
		if err != nil {
			t.Error(err)
		}
	})
}
