package render_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// One spec.tls entry with 2,100 hosts made a crt-list line that HAProxy
// 2.6 refuses (2048 words at most): the hosts are now split over lines
// that stay inside its limits, and the render passes haproxy -c.
func TestManySNIHostsPassCheck(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"*.many.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hosts := make([]string, 2100)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%04d.many.example", i)
	}
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "many", mt.TLS("many", hosts...),
			mt.Rule("h0000.many.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		Secrets:  []*corev1.Secret{mt.TLSSecret("ns", "many", pair.CertPEM, pair.KeyPEM)},
	}
	opts := testOptions(t)
	cfg, rejections := model.Build(snap, opts)
	if len(rejections) != 0 {
		t.Errorf("rejections: %v", rejections)
	}
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(fileData(t, files, render.CrtList)), "\n"), "\n")
	listed := 0
	for _, line := range lines {
		words := strings.Fields(line)
		if len(words) > 1+model.SNIHostsPerLine || len(line) > len(words[0])+1+model.SNIBytesPerLine {
			t.Errorf("crt-list line of %d words, %d bytes", len(words), len(line))
		}
		listed += len(words) - 1
	}
	if want := (len(hosts) + model.SNIHostsPerLine - 1) / model.SNIHostsPerLine; len(lines) != want || listed != len(hosts) {
		t.Errorf("crt-list has %d lines listing %d hosts, want %d lines listing %d", len(lines), listed, want, len(hosts))
	}
	writeAll(t, t.TempDir(), files)
}

// A valid 240-byte Secret name made certs/<namespace>_<name>.pem and its
// temporary name longer than 255 bytes; now the files are written and pass
// haproxy -c.
func TestLongSecretNameIsWritten(t *testing.T) {
	ns := strings.Repeat("n", 63)
	name := strings.Join([]string{strings.Repeat("a", 63), strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 48)}, ".")
	pair, err := tlscert.SelfSigned([]string{"long.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress(ns, "i", mt.TLS(name, "long.example"), mt.Rule("long.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services:  []*corev1.Service{mt.Service(ns, "svc", mt.ServicePort("", 80))},
		Secrets:   []*corev1.Secret{mt.TLSSecret(ns, name, pair.CertPEM, pair.KeyPEM)},
	}
	cfg, rejections := model.Build(snap, testOptions(t))
	if len(rejections) != 0 || len(cfg.Certificates) != 1 {
		t.Fatalf("rejections %v, %d certificates", rejections, len(cfg.Certificates))
	}
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeAll(t, dir, files)
	if !strings.Contains(string(fileData(t, files, render.CrtList)), cfg.Certificates[0].FileName+" long.example") {
		t.Errorf("crt-list does not name %s", cfg.Certificates[0].FileName)
	}
	for _, f := range files {
		for _, part := range strings.Split(f.Path, "/") {
			if len(part) > model.MaxReadableCertificateFileName {
				t.Errorf("%s: a %d-byte name", f.Path, len(part))
			}
		}
	}
}
