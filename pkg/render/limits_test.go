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
// 2.6 refuses (2048 words at most): the capped render passes haproxy -c.
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
	if len(rejections) != len(hosts)-model.MaxSNIHostsPerCertificate {
		t.Errorf("%d rejections, want one warning per host past the cap", len(rejections))
	}
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(string(fileData(t, files, render.CrtList)), "\n")
	if words := len(strings.Fields(line)); words != 1+model.MaxSNIHostsPerCertificate || strings.Contains(line, "\n") {
		t.Errorf("crt-list has %d words on one line, want the file and %d hosts", words, model.MaxSNIHostsPerCertificate)
	}
	writeAll(t, t.TempDir(), files)
}
