package model_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// clientAuthSnapshot: Secret ns/tls serves a.example and b.example; Secret
// ns/ca is a CA Secret (kubernetes.io/tls with ca.crt).
func clientAuthSnapshot(t *testing.T, ings ...*networkingv1.Ingress) model.Snapshot {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"a.example", "b.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tlscert.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlscert.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	return model.Snapshot{
		Ingresses: ings,
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80)), mt.Service("ns", "web", mt.ServicePort("", 80))},
		Secrets: []*corev1.Secret{mt.TLSSecret("ns", "tls", pair.CertPEM, pair.KeyPEM),
			caSecret(t, "ca", ca.Pair.CertPEM), caSecret(t, "ca2", other.Pair.CertPEM), caSecret(t, "noca", nil)},
	}
}

func mtlsIngress(name, host string, annotations map[string]string, opts ...mt.IngressOption) *networkingv1.Ingress {
	opts = append(opts, mt.Rule(host, mt.Path("Prefix", "/", "svc", 80)))
	for k, v := range annotations {
		opts = append(opts, mt.Annotation("bollard.io/"+k, v))
	}
	return mt.Ingress("ns", name, opts...)
}

func TestClientAuth(t *testing.T) {
	for _, c := range []struct {
		verify, want string
	}{{"", "on"}, {"on", "on"}, {"optional", "optional"}, {"off", ""}} {
		t.Run("verify "+c.verify, func(t *testing.T) {
			ann := map[string]string{"auth-tls-secret": "ca"}
			if c.verify != "" {
				ann["auth-tls-verify-client"] = c.verify
			}
			// b.example shares the certificate and asks for nothing.
			snap := clientAuthSnapshot(t, mtlsIngress("secure", "a.example", ann, mt.TLS("tls", "a.example")),
				mtlsIngress("plain", "b.example", nil, mt.TLS("tls", "b.example")))
			cfg, rejections := model.Build(snap, options())
			if len(rejections) != 0 {
				t.Fatalf("rejections %v", rejections)
			}
			if len(cfg.Certificates) != 1 {
				t.Fatalf("certificates %+v", cfg.Certificates)
			}
			cert := &cfg.Certificates[0]
			got := entries(cfg.Maps.Policy.ClientCert)
			if c.want == "" {
				if len(cert.ClientAuth) != 0 || len(cfg.ClientCAs) != 0 || len(got) != 0 {
					t.Fatalf("off asks for client certificates: %+v %+v %v", cert.ClientAuth, cfg.ClientCAs, got)
				}
				return
			}
			if len(cfg.ClientCAs) != 1 || cfg.ClientCAs[0].Secret != "ns/ca" {
				t.Fatalf("client CAs %+v", cfg.ClientCAs)
			}
			file := cfg.ClientCAs[0].FileName
			if !slices.Equal(cert.ClientAuth, []model.ClientAuth{{Host: "a.example", CAFile: file}}) {
				t.Errorf("client auth %+v", cert.ClientAuth)
			}
			lines := cert.CrtListLines()
			want := []model.CrtListLine{{SNI: []string{"b.example"}}, {ClientCAFile: file, SNI: []string{"a.example"}}}
			if len(lines) != 2 || !slices.Equal(lines[0].SNI, want[0].SNI) || lines[0].ClientCAFile != "" ||
				!slices.Equal(lines[1].SNI, want[1].SNI) || lines[1].ClientCAFile != file {
				t.Errorf("crt-list lines %+v, want %+v", lines, want)
			}
			if got["ns/secure"] != c.want || len(got) != 1 {
				t.Errorf("client-cert map %v, want ns/secure %s", got, c.want)
			}
			be, _ := cfg.Backend(cfg.Backends[0].Name)
			if !be.Options.Policies {
				t.Error("the backend must run the policy rules")
			}
		})
	}
}

func TestClientAuthRejections(t *testing.T) {
	for _, c := range []struct {
		name    string
		secret  string
		reason  string
		missing bool
	}{
		{"missing Secret", "nope", "not found", true},
		{"no ca.crt", "noca", "has no ca.crt", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := clientAuthSnapshot(t, mtlsIngress("secure", "a.example", map[string]string{"auth-tls-secret": c.secret}, mt.TLS("tls", "a.example")))
			cfg, rejections := model.Build(snap, options())
			if len(cfg.Served) != 0 || len(cfg.Certificates) != 0 || len(cfg.ClientCAs) != 0 {
				t.Errorf("the Ingress must be left out: %v %v %v", cfg.Served, cfg.Certificates, cfg.ClientCAs)
			}
			if len(rejections) != 1 || rejections[0].Field != annotationField("auth-tls-secret") || rejections[0].Warning ||
				rejections[0].Missing != c.missing || !strings.Contains(rejections[0].Reason, c.reason) {
				t.Errorf("rejections %+v", rejections)
			}
		})
	}
}

func TestClientAuthWarnings(t *testing.T) {
	warningOf := func(t *testing.T, rejections []model.Rejection, name, field, reason string) {
		t.Helper()
		for _, r := range rejections {
			if r.Name == name && r.Field == field && r.Warning && strings.Contains(r.Reason, reason) {
				return
			}
		}
		t.Errorf("no warning of %s %s %q in %v", name, field, reason, rejections)
	}
	t.Run("another CA on the host", func(t *testing.T) {
		older := mtlsIngress("older", "a.example", map[string]string{"auth-tls-secret": "ca"}, mt.TLS("tls", "a.example"), mt.Age(time.Minute))
		younger := mt.Ingress("ns", "younger", mt.Age(time.Hour), mt.Annotation("bollard.io/auth-tls-secret", "ca2"), mt.TLS("tls", "a.example"),
			mt.Rule("a.example", mt.Path("Prefix", "/y", "web", 80)))
		cfg, rejections := model.Build(clientAuthSnapshot(t, older, younger), options())
		warningOf(t, rejections, "younger", annotationField("auth-tls-secret"), "verified against that CA")
		if len(cfg.ClientCAs) != 1 || cfg.ClientCAs[0].Secret != "ns/ca" || len(cfg.Certificates[0].ClientAuth) != 1 ||
			cfg.Certificates[0].ClientAuth[0].CAFile != cfg.ClientCAs[0].FileName {
			t.Errorf("the older Ingress's CA must stay: %+v %+v", cfg.ClientCAs, cfg.Certificates[0].ClientAuth)
		}
		if got := entries(cfg.Maps.Policy.ClientCert); got["ns/younger"] != "on" {
			t.Errorf("the younger Ingress still denies requests without a certificate: %v", got)
		}
	})
	t.Run("default certificate", func(t *testing.T) {
		ing := mtlsIngress("secure", "a.example", map[string]string{"auth-tls-secret": "ca"}, mt.TLS("", "a.example"))
		cfg, rejections := model.Build(clientAuthSnapshot(t, ing), options())
		warningOf(t, rejections, "secure", "spec.tls[0].hosts[0]", "served with the default certificate")
		if len(cfg.ClientCAs) != 0 || len(cfg.Maps.Policy.ClientCert) != 1 {
			t.Errorf("client CAs %+v, map %v", cfg.ClientCAs, cfg.Maps.Policy.ClientCert)
		}
	})
	t.Run("verify without secret", func(t *testing.T) {
		ing := mtlsIngress("secure", "a.example", map[string]string{"auth-tls-verify-client": "optional"}, mt.TLS("tls", "a.example"))
		cfg, rejections := model.Build(clientAuthSnapshot(t, ing), options())
		warningOf(t, rejections, "secure", annotationField("auth-tls-verify-client"), "auth-tls-secret is not set")
		if len(cfg.Maps.Policy.ClientCert) != 0 || len(cfg.Certificates[0].ClientAuth) != 0 {
			t.Errorf("nothing to ask: %v %+v", cfg.Maps.Policy.ClientCert, cfg.Certificates[0].ClientAuth)
		}
	})
}

// Hosts that ask for client certificates get lines of their own, one group
// per CA, each within the limits of a line.
func TestCrtListLines(t *testing.T) {
	var sni []string
	var auth []model.ClientAuth
	for i := range model.SNIHostsPerLine + 3 {
		h := fmt.Sprintf("h%03d.example", i)
		sni = append(sni, h)
		if i%2 == 1 {
			ca := "x.pem"
			if i%4 == 3 {
				ca = "y.pem"
			}
			auth = append(auth, model.ClientAuth{Host: h, CAFile: ca})
		}
	}
	cert := model.Certificate{SNI: sni, ClientAuth: auth}
	count := map[string]int{}
	for _, line := range cert.CrtListLines() {
		if len(line.SNI) == 0 || len(line.SNI) > model.SNIHostsPerLine {
			t.Errorf("line of %d hosts", len(line.SNI))
		}
		for _, h := range line.SNI {
			want := ""
			if i := slices.IndexFunc(auth, func(a model.ClientAuth) bool { return a.Host == h }); i >= 0 {
				want = auth[i].CAFile
			}
			if line.ClientCAFile != want {
				t.Errorf("host %s on a line of CA %q, want %q", h, line.ClientCAFile, want)
			}
			count[h]++
		}
	}
	if len(count) != len(sni) {
		t.Errorf("%d hosts on lines, want %d", len(count), len(sni))
	}
}
