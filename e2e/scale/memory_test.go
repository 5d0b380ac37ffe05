package scale

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// EnvSecrets overrides the number of unrelated Secrets, for measuring by
// hand (docs/benchmarks.md); the suite uses defaultSecrets.
const EnvSecrets = "BOLLARD_SCALE_SECRETS"

const (
	defaultSecrets = 200
	// The API server refuses Secrets whose data exceed 1 MiB; leave room
	// for the key.
	secretBytes = 1<<20 - 64
	// maxGrowth is far below the Secrets' size: the unchanged informers
	// cached every byte of them (the RSS grew by more than their size).
	maxGrowth = 32 << 20
	workers   = 4
)

// A tenant's many large Secrets that no Ingress references must not
// grow the controller's memory: it caches only TLS Secrets.
func TestUnrelatedSecretsDoNotGrowMemory(t *testing.T) {
	n := defaultSecrets
	if v := os.Getenv(EnvSecrets); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 5000 {
			t.Fatalf("%s=%q: want a count from 1 to 5000", EnvSecrets, v)
		}
	}
	ns, b := cluster.Setup(t, "scale")
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("web", "web.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	b.WaitServed(t, "web.example", "/", "web", 30*time.Second)
	time.Sleep(2 * time.Second) // let the first syncs' garbage settle
	before := rss(t, b.PID())

	start := time.Now()
	createOpaqueSecrets(t, ns, n)
	created := time.Since(start)

	// A TLS Secret created after them comes last on the controller's
	// Secret watch, which delivers in order: once HAProxy serves its
	// certificate, every earlier Secret went through the informer.
	ca := cluster.CreateIssuedTLSSecret(t, ns, "after-tls", "after.example")
	cluster.MustApply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: after}
spec:
  ingressClassName: bollard
  tls: [{hosts: [after.example], secretName: after-tls}]
  rules:
  - host: after.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`)
	req := b.TLSRequest("after.example", "/")
	req.RootCA = ca.Pool()
	err := framework.WaitFor(context.Background(), 2*time.Minute, "after.example served with its certificate", func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, req)
		return err == nil && e.Service == "web", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	settled := time.Since(start)
	time.Sleep(2 * time.Second)
	after := rss(t, b.PID())

	growth := after - before
	t.Logf("%d unrelated Secrets of %d KiB: created in %s, served after %s; controller RSS %d MiB -> %d MiB (%+d MiB)",
		n, secretBytes>>10, created.Round(time.Millisecond), settled.Round(time.Millisecond), before>>20, after>>20, growth>>20)
	if growth >= maxGrowth {
		t.Fatalf("controller RSS grew by %d MiB for %d MiB of unrelated Secrets; want under %d MiB", growth>>20, n*secretBytes>>20, maxGrowth>>20)
	}
}

// createOpaqueSecrets creates n Opaque Secrets of secretBytes each, a few
// at a time, within a deadline.
func createOpaqueSecrets(t *testing.T, ns string, n int) {
	t.Helper()
	blob := make([]byte, secretBytes)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*time.Second+time.Minute)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%04d", i)},
					Type:       corev1.SecretTypeOpaque,
					Data:       map[string][]byte{"blob": blob},
				}, metav1.CreateOptions{})
				if err != nil {
					errs <- fmt.Errorf("create secret %d: %w", i, err)
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("creating %d Secrets: %v", n, err)
	}
}

// rss returns the resident set size of pid in bytes.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				t.Fatalf("VmRSS of %d: %q", pid, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
