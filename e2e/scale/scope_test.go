package scale

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// The narrowed watches still see what the model reads, on a real API
// server: the global ConfigMap by name (and its updates), TLS Secrets but
// not Opaque ones; `bollard render --kubeconfig` reads the same.
func TestWatchScope(t *testing.T) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	ns := cluster.CreateNamespace(t, "scope")
	cluster.MustApply(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: global}
data: {timeout-connect: 7s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data: {timeout-connect: 9s}
`)
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The same valid key pair as a TLS and as an Opaque Secret.
	pair, err := tlscert.Issue([]string{"tls.example", "opaque.example"}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	cluster.CreateTLSSecret(t, ns, "tls", pair.CertPEM, pair.KeyPEM)
	_, err = cluster.Client.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "opaque"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.TLSCertKey: pair.CertPEM, corev1.TLSPrivateKeyKey: pair.KeyPEM},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: bollard
  tls: [{hosts: [tls.example], secretName: tls}, {hosts: [opaque.example], secretName: opaque}]
  rules:
  - host: tls.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: opaque.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`)
	args := []string{"--configmap", ns + "/global"}
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: args})
	req := b.TLSRequest("tls.example", "/")
	req.RootCA = ca.Pool()
	err = framework.WaitFor(context.Background(), 30*time.Second, "tls.example served with its certificate", func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, req)
		return err == nil && e.Service == "web", nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Log())
	}
	waitConfig(t, filepath.Join(b.ConfigDir, "haproxy.cfg"), "timeout connect 7000ms")

	// An update reaches the controller through the selected watch.
	cluster.MustApply(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: global}
data: {timeout-connect: 8s}
`)
	waitConfig(t, filepath.Join(b.ConfigDir, "haproxy.cfg"), "timeout connect 8000ms")

	crtList, err := os.ReadFile(filepath.Join(b.ConfigDir, "certs", "crt-list.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkCrtList(t, "controller", string(crtList))

	out := t.TempDir()
	cmd := exec.Command(filepath.Join(cluster.BinDir, "bollard"), append([]string{"render",
		"--kubeconfig", cluster.Kubeconfig, "--watch-namespace", ns, "--output-dir", out}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bollard render: %v\n%s", err, msg)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "timeout connect 8000ms") {
		t.Errorf("render --kubeconfig did not read the global ConfigMap:\n%s", cfg)
	}
	crtList, err = os.ReadFile(filepath.Join(out, "certs", "crt-list.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkCrtList(t, "render", string(crtList))
}

// checkCrtList wants the TLS Secret's host and not the Opaque one's.
func checkCrtList(t *testing.T, who, crtList string) {
	t.Helper()
	if !strings.Contains(crtList, "tls.example") || strings.Contains(crtList, "opaque.example") {
		t.Errorf("%s: crt-list should name tls.example and not opaque.example:\n%s", who, crtList)
	}
}

func waitConfig(t *testing.T, path, want string) {
	t.Helper()
	err := framework.WaitFor(context.Background(), 30*time.Second, path+" containing "+want, func(context.Context) (bool, error) {
		data, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(data), want), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
