package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

func metavOpts() metav1.CreateOptions { return metav1.CreateOptions{} }

func TestClassesAndStatus(t *testing.T) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	ns := cluster.CreateNamespace(t, "conf-class")
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: []string{"--publish-address", "198.18.6.250"}})
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("ours", "ours.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	cluster.MustApply(t, ns, strings.Replace(framework.IngressYAML("foreign", "foreign.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}),
		"ingressClassName: bollard", "ingressClassName: other", 1))
	expectService(t, b, "ours.example", "/", "web")
	t.Run("status shows the published address", func(t *testing.T) {
		record(t, "classes and status", "status shows the published address")
		err := framework.WaitFor(context.Background(), converge, "status", func(ctx context.Context) (bool, error) {
			ing, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(ctx, "ours", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			lb := ing.Status.LoadBalancer.Ingress
			return len(lb) == 1 && lb[0].IP == "198.18.6.250", nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	t.Run("foreign class is ignored", func(t *testing.T) {
		record(t, "classes and status", "an Ingress of a foreign class is never served and never gets status")
		expectStatus(t, b, "foreign.example", "/", http.StatusNotFound)
		ing, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(context.Background(), "foreign", metav1.GetOptions{})
		if err != nil || len(ing.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("foreign status %v %v", ing.Status.LoadBalancer.Ingress, err)
		}
	})
	t.Run("default IngressClass takes class-less Ingresses", func(t *testing.T) {
		record(t, "classes and status", "the default IngressClass takes Ingresses that have no class")
		noClass := strings.Replace(framework.IngressYAML("noclass", "noclass.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}),
			"  ingressClassName: bollard\n", "", 1)
		cluster.MustApply(t, ns, noClass)
		expectStatus(t, b, "noclass.example", "/", http.StatusNotFound)
		classes := cluster.Client.NetworkingV1().IngressClasses()
		_, err := classes.Create(context.Background(), &networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "bollard-default", Annotations: map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}},
			Spec:       networkingv1.IngressClassSpec{Controller: "bollard.io/ingress-controller"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer classes.Delete(context.Background(), "bollard-default", metav1.DeleteOptions{})
		// The API server's admission fills spec.ingressClassName of new
		// class-less Ingresses from the default class; this one predates it.
		expectService(t, b, "noclass.example", "/", "web")
	})
}
