package model_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// longName is a valid 240-byte DNS subdomain, as a Secret name may be.
func longName(first byte) string {
	labels := []string{strings.Repeat(string(first), 63), strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 48)}
	return strings.Join(labels, ".")
}

func TestCertificateFileName(t *testing.T) {
	if got := model.CertificateFileName("ns", "tls"); got != "ns_tls.pem" {
		t.Errorf("short names stay readable: got %q", got)
	}
	ns := strings.Repeat("n", 63)
	a, b := longName('a'), longName('x')
	if len(a) != 240 {
		t.Fatalf("test name is %d bytes", len(a))
	}
	fa, fb := model.CertificateFileName(ns, a), model.CertificateFileName(ns, b)
	for _, f := range []string{fa, fb} {
		if len(f) > model.MaxReadableCertificateFileName || !strings.HasSuffix(f, ".pem") || strings.Contains(f, "_") {
			t.Errorf("long name gave %q (%d bytes): want a short hashed name without '_'", f, len(f))
		}
	}
	if fa == fb {
		t.Errorf("two Secrets share the file %q", fa)
	}
	if fa != model.CertificateFileName(ns, a) {
		t.Error("the file name is not deterministic")
	}
	// Just past the limit switches to the hash.
	name := strings.Repeat("s", model.MaxReadableCertificateFileName-len("ns_.pem")+1)
	if got := model.CertificateFileName("ns", name); len(got) > model.MaxReadableCertificateFileName {
		t.Errorf("%d-byte name: got %d-byte file name", len(name), len(got))
	}
}

func TestLongSecretNameInBuild(t *testing.T) {
	ns, name := strings.Repeat("n", 63), longName('a')
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress(ns, "i", mt.TLS(name, "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services:  []*corev1.Service{mt.Service(ns, "svc", mt.ServicePort("", 80))},
		Secrets:   []*corev1.Secret{tlsSecret(t, ns, name, "h.example")},
	}
	cfg, rejections := model.Build(snap, options())
	if len(rejections) != 0 || len(cfg.Certificates) != 1 {
		t.Fatalf("rejections %v, %d certificates", rejections, len(cfg.Certificates))
	}
	if f := cfg.Certificates[0].FileName; f != model.CertificateFileName(ns, name) || len(f) > model.MaxReadableCertificateFileName {
		t.Errorf("file name %q", f)
	}
}
