package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// crt-list lines that ask for client certificates are read back from the
// real HAProxy as the model has them: an HAProxy that loaded the config is
// adopted with nothing to do, and a host that starts asking is a reload
// (cause certificates), never a runtime batch that would drop the options.
func TestClientAuthReadBack(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a := haproxytest.NewBackend(t, "A")
	site, err := tlscert.SelfSigned([]string{"secure.test", "plain.test"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tlscert.NewAuthoritySpec(tlscert.Spec{Client: true}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	caSecret := mt.TLSSecret("ns", "ca", site.CertPEM, site.KeyPEM)
	caSecret.Data["ca.crt"] = ca.Pair.CertPEM
	mopts := loopbackModelOptions(t)
	build := func(plainAsks bool) model.Config {
		ingress := func(name, host string, asks bool) *networkingv1.Ingress {
			ing := mt.Ingress("ns", name, mt.TLS("site", host), mt.Rule(host, mt.Path("Prefix", "/", "web", 80)))
			if asks {
				mt.Annotation("bollard.io/auth-tls-secret", "ca")(ing)
			}
			return ing
		}
		cfg, rejections := model.Build(model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{ingress("secure", "secure.test", true), ingress("plain", "plain.test", plainAsks)},
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", a.Port, mt.Ready(a.Host))},
			Secrets:        []*corev1.Secret{mt.TLSSecret("ns", "site", site.CertPEM, site.KeyPEM), caSecret},
		}, mopts)
		if len(rejections) != 0 || len(cfg.Certificates) != 1 || len(cfg.Certificates[0].ClientAuth) == 0 {
			t.Fatalf("rejections %v, certificates %+v", rejections, cfg.Certificates)
		}
		return cfg
	}
	loaded := build(false)
	files, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	r, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.cfg.Certificates; len(got) != 1 || len(got[0].ClientAuth) != 1 || got[0].ClientAuth[0] != loaded.Certificates[0].ClientAuth[0] {
		t.Fatalf("read back %+v, want the client auth of %+v", got, loaded.Certificates)
	}
	if u := r.diff(&loaded, c, haproxy.Features{}); u.reload != "" || len(u.commands) != 0 {
		t.Errorf("adopting the loaded config: reload %q, commands:\n%s", u.reload, commandLines(u))
	}
	wanted := build(true)
	if u := r.diff(&wanted, c, haproxy.Features{}); u.cause != causeCertificates {
		t.Errorf("plain.test starts asking: cause %v (%q), want certificates", u.cause, u.reload)
	}
}
