package events

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

const (
	syncs       = "bollard_sync_duration_seconds_count"
	debounce    = 200 * time.Millisecond
	waitBudget  = 30 * time.Second
	quietPeriod = 2 * time.Second // well past the debounce and one sync
)

func skipped(kind string) string { return fmt.Sprintf(`bollard_events_skipped_total{kind=%q}`, kind) }

func tlsIngress(name, host, service, secret string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
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
}

// TestOnlyRelevantEventsSync: a status-only write to a served Ingress and
// a TLS Secret no Ingress names are counted as skipped and run no sync;
// a new certificate in the Secret an Ingress uses is served.
func TestOnlyRelevantEventsSync(t *testing.T) {
	ns, b := cluster.Setup(t, "events", "--sync-debounce", debounce.String())
	ctx := context.Background()
	cluster.Echo(t, ns, "app", 1)
	ca := cluster.CreateIssuedTLSSecret(t, ns, "used-tls", "s.example")
	cluster.MustApply(t, ns, tlsIngress("s", "s.example", "app", "used-tls"))
	secure := b.TLSRequest("s.example", "/")
	secure.RootCA = ca.Pool()
	waitOK(t, secure, "the first certificate")
	before := settle(t, b)
	skippedIngresses, skippedSecrets := b.Metric(t, skipped("Ingress")), b.Metric(t, skipped("Secret"))

	// Status only: what Bollard itself writes with --publish-address.
	ings := cluster.Client.NetworkingV1().Ingresses(ns)
	ing, err := ings.Get(ctx, "s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.77"}}
	if _, err := ings.UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A TLS Secret nothing uses, created and then changed.
	cluster.CreateIssuedTLSSecret(t, ns, "unused-tls", "u.example")
	secrets := cluster.Client.CoreV1().Secrets(ns)
	unused, err := secrets.Get(ctx, "unused-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unused.Data[corev1.TLSCertKey] = append(unused.Data[corev1.TLSCertKey], '\n')
	if _, err := secrets.Update(ctx, unused, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = framework.WaitFor(ctx, waitBudget, "the events counted as skipped", func(context.Context) (bool, error) {
		return b.Metric(t, skipped("Ingress")) >= skippedIngresses+1 && b.Metric(t, skipped("Secret")) >= skippedSecrets+2, nil
	})
	if err != nil {
		t.Fatalf("%v: skipped Ingress %v → %v, Secret %v → %v", err, skippedIngresses, b.Metric(t, skipped("Ingress")),
			skippedSecrets, b.Metric(t, skipped("Secret")))
	}
	time.Sleep(quietPeriod)
	if got := b.Metric(t, syncs); got != before {
		t.Errorf("syncs went from %v to %v after a status write and an unused Secret, want none", before, got)
	}

	// The Secret the Ingress uses gets a certificate from another CA.
	next, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.Issue([]string{"s.example"}, time.Now(), time.Hour, next)
	if err != nil {
		t.Fatal(err)
	}
	used, err := secrets.Get(ctx, "used-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	used.Data[corev1.TLSCertKey], used.Data[corev1.TLSPrivateKeyKey] = pair.CertPEM, pair.KeyPEM
	if _, err := secrets.Update(ctx, used, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	secure.RootCA = next.Pool()
	waitOK(t, secure, "the renewed certificate")
	if got := b.Metric(t, syncs); got <= before {
		t.Errorf("syncs %v after the used Secret changed, want more than %v", got, before)
	}
}

// settle waits until no sync has run for quietPeriod and returns the
// number of syncs.
func settle(t *testing.T, b *framework.Bollard) float64 {
	t.Helper()
	last := b.Metric(t, syncs)
	err := framework.WaitFor(context.Background(), waitBudget, "no more syncs", func(context.Context) (bool, error) {
		time.Sleep(quietPeriod)
		now := b.Metric(t, syncs)
		quiet := now == last
		last = now
		return quiet, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// waitOK waits until r is answered 200 over TLS verified by r.RootCA.
func waitOK(t *testing.T, r framework.Request, what string) {
	t.Helper()
	var last string
	err := framework.WaitFor(context.Background(), waitBudget, r.Host+" with "+what, func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, r)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("status %d", resp.Status)
		return resp.Status == 200, nil
	})
	if err != nil {
		t.Fatalf("%v (last: %s)", err, last)
	}
}
