package hostile

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// testLastGoodIngress: an update that breaks a served Ingress keeps its
// last good version serving, and the Event says so.
func testLastGoodIngress(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	const host = "flip.hostile.example"
	if err := create(ctx, e.ns, ingress("flip", host, webPath("Prefix", "/"))); err != nil {
		t.Fatal(err)
	}
	e.b.WaitServed(t, host, "/", "web", 15*time.Second)
	update := func(path string) {
		t.Helper()
		ings := cluster.Client.NetworkingV1().Ingresses(e.ns)
		ing, err := ings.Get(ctx, "flip", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ing.Spec.Rules[0].HTTP.Paths[0].Path = path
		if _, err := ings.Update(ctx, ing, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update("/pwn-flip\nhttp-request deny deny_status 418")
	msg := e.waitEvent(t, "Ingress", "flip", "spec.rules[0].http.paths[0].path", "the last good version keeps serving")
	for i := 0; i < 10; i++ {
		if err := served(ctx, e, host, "/", "web"); err != nil {
			t.Fatalf("the last good version stopped serving: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.noPayload(t, []string{"pwn-flip", "deny_status 418"})
	// A good update replaces the kept version.
	update("/v2")
	e.b.WaitServed(t, host, "/v2", "web", 15*time.Second)
	if err := framework.WaitFor(ctx, 10*time.Second, "the kept version to go", func(ctx context.Context) (bool, error) {
		err := status(ctx, e, host, "/", http.StatusNotFound)
		return err == nil, err
	}); err != nil {
		t.Error(err)
	}
	e.results = append(e.results, "update that breaks an Ingress | last-good-ingress | last good version kept | Event: "+abridged(msg))
}

// testLastGoodCertificate: a TLS Secret replaced by a broken one keeps the
// last good certificate serving; a good replacement goes in at run time.
func testLastGoodCertificate(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	c := &hostileCase{name: "lastgood-tls"}
	first := e.issue(t, c.name, time.Now(), time.Hour)
	if err := create(ctx, e.ns, secret(c.name, first.CertPEM, first.KeyPEM), tlsIngress(c.name)); err != nil {
		t.Fatal(err)
	}
	waitProbe(t, e, c, servesCert(&first))
	replace := func(cert, key []byte) {
		t.Helper()
		s, err := cluster.Client.CoreV1().Secrets(e.ns).Get(ctx, c.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data["tls.crt"], s.Data["tls.key"] = cert, key
		if _, err := cluster.Client.CoreV1().Secrets(e.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wrong := e.issue(t, "wrong", time.Now(), time.Hour)
	replace(first.CertPEM, wrong.KeyPEM)
	msg := e.waitEvent(t, "Ingress", c.name, "spec.tls[0].secretName", "the last good version keeps serving")
	if strings.Contains(msg, "default certificate") {
		t.Errorf("the Event says the default certificate is served, but the last good one is: %s", msg)
	}
	for i := 0; i < 10; i++ {
		if err := servesCert(&first)(ctx, e, c); err != nil {
			t.Fatalf("the last good certificate stopped serving: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.noPayload(t, []string{pemBody(wrong.KeyPEM)})
	reloads := e.b.Reloads(t)
	second := e.issue(t, c.name, time.Now(), time.Hour)
	replace(second.CertPEM, second.KeyPEM)
	waitProbe(t, e, c, servesCert(&second))
	if got := e.b.Reloads(t); got != reloads {
		t.Errorf("replacing a certificate caused %d reloads, want a runtime update", got-reloads)
	}
	e.results = append(e.results, "TLS Secret replaced by a broken one | last-good-certificate | last good certificate kept | Event: "+abridged(msg))
}

func waitProbe(t *testing.T, e *env, c *hostileCase, probe func(context.Context, *env, *hostileCase) error) {
	t.Helper()
	err := framework.WaitFor(context.Background(), 15*time.Second, c.name+" probe", func(ctx context.Context) (bool, error) {
		err := probe(ctx, e, c)
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
}
