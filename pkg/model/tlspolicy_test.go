package model_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

func TestTLSPolicyDefault(t *testing.T) {
	if model.DefaultTLSPolicy() != (model.TLSPolicy{MinRSABits: 2048, MinECBits: 224}) {
		t.Fatalf("DefaultTLSPolicy() = %+v, want security level 2", model.DefaultTLSPolicy())
	}
	for _, c := range mt.TLSCases(t, "h.example", now) {
		secret := mt.TLSSecret("ns", "s", c.CertPEM, c.KeyPEM)
		// The zero value and DefaultTLSPolicy are the same rules.
		for _, policy := range []model.TLSPolicy{{}, model.DefaultTLSPolicy()} {
			err := model.CheckTLSSecret(secret, policy)
			switch {
			case c.Refused == "" && err != nil:
				t.Errorf("%s: refused under %+v: %v", c.Name, policy, err)
			case c.Refused != "" && (err == nil || !strings.Contains(err.Error(), c.Refused)):
				t.Errorf("%s: want a refusal naming %q under %+v, got %v", c.Name, c.Refused, policy, err)
			}
		}
	}
}

func TestTLSPolicyLoosened(t *testing.T) {
	loose := model.TLSPolicy{MinRSABits: 1024, AllowSHA1: true}
	for _, c := range mt.TLSCases(t, "h.example", now) {
		if err := model.CheckTLSSecret(mt.TLSSecret("ns", "s", c.CertPEM, c.KeyPEM), loose); err != nil {
			t.Errorf("%s: refused under %+v: %v", c.Name, loose, err)
		}
	}
	// Every case has a P-256 or RSA key of at most 2048 bits somewhere
	// in its chain (the test roots are P-256).
	strict := model.TLSPolicy{MinRSABits: 3072, MinECBits: 384}
	for _, c := range mt.TLSCases(t, "h.example", now) {
		if err := model.CheckTLSSecret(mt.TLSSecret("ns", "s", c.CertPEM, c.KeyPEM), strict); err == nil {
			t.Errorf("%s: accepted under %+v", c.Name, strict)
		}
	}
}

func TestTLSPolicyRejectsInBuild(t *testing.T) {
	var weak mt.TLSCase
	for _, c := range mt.TLSCases(t, "h.example", now) {
		if c.Name == "RSA-1024" {
			weak = c
		}
	}
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.TLS("s", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))},
		Secrets:   []*corev1.Secret{mt.TLSSecret("ns", "s", weak.CertPEM, weak.KeyPEM)},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
	}
	cfg, rejections := model.Build(snap, options())
	if len(cfg.Certificates) != 0 {
		t.Fatalf("a 1024-bit RSA certificate reached the config: %+v", cfg.Certificates)
	}
	want := "RSA key of 1024 bits; this HAProxy's TLS library needs at least 2048"
	if len(rejections) != 1 || rejections[0].Field != "spec.tls[0].secretName" || !strings.Contains(rejections[0].Reason, want) {
		t.Fatalf("want one rejection of spec.tls[0].secretName saying %q, got %v", want, rejections)
	}
	if len(cfg.Served) != 1 {
		t.Fatalf("the Ingress's routes must keep serving: Served = %v", cfg.Served)
	}
}
