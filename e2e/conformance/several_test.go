package conformance

import (
	"context"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

func TestSeveralIngresses(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-multi")
	for _, s := range []string{"one", "two", "three"} {
		cluster.Echo(t, ns, s, 1)
	}
	cluster.MustApply(t, ns, framework.IngressYAML("first", "multi.example", framework.Path{Path: "/one", Type: "Prefix", Service: "one"},
		framework.Path{Path: "/shared", Type: "Prefix", Service: "one"}))
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	cluster.MustApply(t, ns, framework.IngressYAML("second", "multi.example", framework.Path{Path: "/two", Type: "Prefix", Service: "two"},
		framework.Path{Path: "/shared", Type: "Prefix", Service: "two"}))
	t.Run("merge by path", func(t *testing.T) {
		record(t, "several Ingresses", "two Ingresses on one host merge by path")
		expectService(t, b, "multi.example", "/one", "one")
		expectService(t, b, "multi.example", "/two", "two")
	})
	t.Run("conflict: oldest wins", func(t *testing.T) {
		record(t, "several Ingresses", "the same host and path: the oldest Ingress wins, the other gets a Warning Event")
		expectService(t, b, "multi.example", "/shared", "one")
		if err := cluster.WaitWarning(context.Background(), ns, "second", "already routed by the older Ingress", converge); err != nil {
			t.Error(err)
		}
	})
	t.Run("delete removes only its routes", func(t *testing.T) {
		record(t, "several Ingresses", "deleting an Ingress removes its routes, and only its routes")
		if err := cluster.Client.NetworkingV1().Ingresses(ns).Delete(context.Background(), "first", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, b, "multi.example", "/one", http.StatusNotFound)
		expectService(t, b, "multi.example", "/two", "two")
		expectService(t, b, "multi.example", "/shared", "two") // the conflict loser takes over
	})
}

func TestServicePortByName(t *testing.T) {
	record(t, "several Ingresses", "a Service port referenced by name works, and changing its name or number updates routing")
	ns, b := cluster.Setup(t, "conf-portname")
	cluster.Echo(t, ns, "named", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("named", "named.example", framework.Path{Path: "/", Type: "Prefix", Service: "named", Port: "http"}))
	expectService(t, b, "named.example", "/", "named")
	svcs := cluster.Client.CoreV1().Services(ns)
	svc, err := svcs.Get(context.Background(), "named", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Ports[0].Name = "web"
	if _, err := svcs.Update(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, b, "named.example", "/", http.StatusServiceUnavailable) // the name no longer resolves
	cluster.MustApply(t, ns, framework.IngressYAML("named", "named.example", framework.Path{Path: "/", Type: "Prefix", Service: "named", Port: "web"}))
	expectService(t, b, "named.example", "/", "named")
	svc, _ = svcs.Get(context.Background(), "named", metav1.GetOptions{})
	svc.Spec.Ports[0].Port = 81
	if _, err := svcs.Update(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, framework.IngressYAML("named", "named.example", framework.Path{Path: "/", Type: "Prefix", Service: "named", Port: 81}))
	expectService(t, b, "named.example", "/", "named")
}
