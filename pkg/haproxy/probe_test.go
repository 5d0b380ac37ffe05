package haproxy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

func probe(t *testing.T) model.TLSPolicy {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	policy, err := haproxy.ProbeTLSPolicy(ctx, haproxytest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probed in %v: %v", time.Since(start), policy)
	return policy
}

// The HAProxy of these machines links Debian's OpenSSL 3 at security
// level 2.
func TestProbeTLSPolicy(t *testing.T) {
	policy := probe(t)
	if policy.MinRSABits <= 1024 || policy.MinRSABits > 2048 {
		t.Errorf("MinRSABits = %d: want RSA-1024 refused and RSA-2048 accepted", policy.MinRSABits)
	}
	if policy.MinECBits > 256 {
		t.Errorf("MinECBits = %d: want P-256 accepted", policy.MinECBits)
	}
	// Debian bookworm's OpenSSL 3.0 (its HAProxy 2.6 package) refuses
	// SHA-1 signatures; the newer lines link newer OpenSSL builds, whose
	// answer TestProbedPolicyAgreesWithHAProxy checks against HAProxy.
	if policy.AllowSHA1 && binaryVersion(t).Line() == "2.6" {
		t.Error("AllowSHA1: want SHA-1 signatures refused")
	}
}

func binaryVersion(t *testing.T) haproxy.Version {
	t.Helper()
	out, err := exec.Command(haproxytest.Binary(t), "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	v, err := haproxy.ParseVersion(string(out))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProbeTLSPolicyMissingBinary(t *testing.T) {
	_, err := haproxy.ProbeTLSPolicy(context.Background(), filepath.Join(t.TempDir(), "no-haproxy"))
	if err == nil {
		t.Fatal("a missing binary gave a policy")
	}
}

// The model and HAProxy agree: what the model accepts under the probed
// policy passes `haproxy -c` in a rendered config, and what it refuses
// fails `haproxy -c` when loaded as it is.
func TestProbedPolicyAgreesWithHAProxy(t *testing.T) {
	policy := probe(t)
	now := time.Now()
	fallback, err := tlscert.SelfSigned([]string{"fallback.invalid"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mt.TLSCases(t, "h.example", now) {
		t.Run(c.Name, func(t *testing.T) {
			secret := mt.TLSSecret("ns", "s", c.CertPEM, c.KeyPEM)
			modelErr := model.CheckTLSSecret(secret, policy)
			dir := t.TempDir()
			if modelErr != nil {
				loaded := loads(t, dir, append(append([]byte{}, c.CertPEM...), c.KeyPEM...))
				if loaded {
					t.Fatalf("the model refuses it (%v) but haproxy -c loads it", modelErr)
				}
				return
			}
			opts := model.DefaultOptions()
			opts.Now, opts.TLS, opts.FallbackCertificate = now, policy, fallback.Combined()
			snap := model.Snapshot{
				Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.TLS("s", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))},
				Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
				Secrets:   []*corev1.Secret{secret},
			}
			cfg, rejections := model.Build(snap, opts)
			if len(cfg.Certificates) != 1 || len(rejections) != 0 {
				t.Fatalf("want the certificate in the config and no rejection, got %d certificates, %v", len(cfg.Certificates), rejections)
			}
			files, err := render.Render(&cfg, haproxytest.Options(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := haproxy.WriteFiles(dir, files); err != nil {
				t.Fatal(err)
			}
			haproxytest.Check(t, dir)
		})
	}
}

// loads reports whether haproxy -c accepts a bind loading pem.
func loads(t *testing.T, dir string, pem []byte) bool {
	t.Helper()
	cert := filepath.Join(dir, "cert.pem")
	cfg := filepath.Join(dir, "haproxy.cfg")
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend f\n  bind 127.0.0.1:1 ssl crt " + cert + "\n"
	if err := os.WriteFile(cert, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := haproxy.Check(ctx, haproxytest.Binary(t), cfg)
	if _, isCheck := err.(*haproxy.CheckError); err != nil && !isCheck {
		t.Fatal(err)
	}
	return err == nil
}
