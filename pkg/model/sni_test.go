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

func tlsSecret(t *testing.T, namespace, name string, names ...string) *corev1.Secret {
	t.Helper()
	pair, err := tlscert.SelfSigned(names, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return mt.TLSSecret(namespace, name, pair.CertPEM, pair.KeyPEM)
}

func sniOf(cfg model.Config, secret string) []string {
	for _, c := range cfg.Certificates {
		if c.Secret == secret {
			return c.SNI
		}
	}
	return nil
}

// warningsOf returns the warnings of one Ingress by field.
func warningsOf(rs []model.Rejection, namespace, name string) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		if r.Warning && r.Namespace == namespace && r.Name == name {
			m[r.Field] = r.Reason
		}
	}
	return m
}

func TestCertificateMustCoverHost(t *testing.T) {
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", mt.TLS("s", "a.example", "b.example"),
			mt.Rule("a.example", mt.Path("Prefix", "/", "svc", 80)), mt.Rule("b.example", mt.Path("Prefix", "/", "svc", 80)))},
		Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		Secrets:  []*corev1.Secret{tlsSecret(t, "ns", "s", "a.example")},
	}
	cfg, rejections := model.Build(snap, options())
	if got := sniOf(cfg, "ns/s"); !slices.Equal(got, []string{"a.example"}) {
		t.Errorf("SNI = %v, want only the covered a.example", got)
	}
	w := warningsOf(rejections, "ns", "i")["spec.tls[0].hosts[1]"]
	if !strings.Contains(w, "does not cover host \"b.example\"") || !strings.Contains(w, "default certificate") {
		t.Errorf("want a warning on spec.tls[0].hosts[1] that the certificate does not cover b.example, got %v", rejections)
	}
	if !slices.Equal(cfg.Served, []string{"ns/i"}) || entries(cfg.Maps.Hosts)["b.example"] == "" {
		t.Errorf("the Ingress and b.example must keep serving: served %v, hosts %v", cfg.Served, cfg.Maps.Hosts)
	}
}

// An older Ingress whose certificate does not cover a host never keeps a
// younger one's covering certificate from it.
func TestNonCoveringCertificateDoesNotOwnHost(t *testing.T) {
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			mt.Ingress("a", "old", mt.TLS("wrong", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/a", "svc", 80))),
			mt.Ingress("b", "young", mt.Age(time.Minute), mt.TLS("right", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/b", "svc", 80))),
		},
		Services: []*corev1.Service{mt.Service("a", "svc", mt.ServicePort("", 80)), mt.Service("b", "svc", mt.ServicePort("", 80))},
		Secrets:  []*corev1.Secret{tlsSecret(t, "a", "wrong", "other.example"), tlsSecret(t, "b", "right", "h.example")},
	}
	cfg, rejections := model.Build(snap, options())
	if got := sniOf(cfg, "b/right"); !slices.Equal(got, []string{"h.example"}) {
		t.Errorf("SNI of b/right = %v, want h.example", got)
	}
	if got := sniOf(cfg, "a/wrong"); len(got) != 0 {
		t.Errorf("SNI of a/wrong = %v, want none", got)
	}
	if w := warningsOf(rejections, "a", "old")["spec.tls[0].hosts[0]"]; !strings.Contains(w, "does not cover") {
		t.Errorf("the older Ingress must be warned, got %v", rejections)
	}
	for _, r := range rejections {
		if r.Namespace == "b" {
			t.Errorf("the younger Ingress with the covering certificate got %v", r)
		}
	}
}

func TestWildcardCertificateCoversOneLabel(t *testing.T) {
	hosts := []string{"a.w.example", "a.b.w.example", "w.example", "*.w.example", "*.b.w.example"}
	var rules []mt.IngressOption
	for _, h := range hosts {
		rules = append(rules, mt.Rule(h, mt.Path("Prefix", "/", "svc", 80)))
	}
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "i", append(rules, mt.TLS("wild", hosts...))...)},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		Secrets:   []*corev1.Secret{tlsSecret(t, "ns", "wild", "*.w.example")},
	}
	cfg, rejections := model.Build(snap, options())
	if got, want := sniOf(cfg, "ns/wild"), []string{"*.w.example", "a.w.example"}; !slices.Equal(got, want) {
		t.Errorf("SNI = %v, want %v", got, want)
	}
	w := warningsOf(rejections, "ns", "i")
	for _, j := range []int{1, 2, 4} {
		if !strings.Contains(w[fmt.Sprintf("spec.tls[0].hosts[%d]", j)], "does not cover host "+fmt.Sprintf("%q", hosts[j])) {
			t.Errorf("no warning that %s is not covered: %v", hosts[j], rejections)
		}
	}

	// A certificate for one host under the wildcard does not cover the
	// wildcard host.
	snap.Secrets = []*corev1.Secret{tlsSecret(t, "ns", "wild", "a.w.example")}
	cfg, _ = model.Build(snap, options())
	if got := sniOf(cfg, "ns/wild"); !slices.Equal(got, []string{"a.w.example"}) {
		t.Errorf("SNI = %v, want a.w.example only", got)
	}
}

func manyHosts(prefix string, n int, domain string) []string {
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("%s%04d.%s", prefix, i, domain)
	}
	return hosts
}

// One certificate's SNI list is capped over the union of the Ingresses
// that use it; the oldest Ingress's hosts come first, in spec order.
func TestSNIHostsCapped(t *testing.T) {
	older := manyHosts("o", 60, "big.example")
	younger := manyHosts("y", model.MaxSNIHostsPerCertificate+40, "big.example")
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			mt.Ingress("ns", "young", mt.Age(time.Minute), mt.TLS("big", younger...), mt.Rule("y.example", mt.Path("Prefix", "/", "svc", 80))),
			mt.Ingress("ns", "old", mt.TLS("big", older...), mt.Rule("o.example", mt.Path("Prefix", "/", "svc", 80))),
		},
		Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		Secrets:  []*corev1.Secret{tlsSecret(t, "ns", "big", "*.big.example")},
	}
	cfg, rejections := model.Build(snap, options())
	kept := model.MaxSNIHostsPerCertificate - len(older)
	want := append(append([]string{}, older...), younger[:kept]...)
	slices.Sort(want)
	if got := sniOf(cfg, "ns/big"); !slices.Equal(got, want) {
		t.Fatalf("SNI has %d hosts, want the older Ingress's %d and the first %d of the younger", len(got), len(older), kept)
	}
	w := warningsOf(rejections, "ns", "young")
	if len(w) != len(younger)-kept {
		t.Errorf("%d warnings, want one per host left out (%d)", len(w), len(younger)-kept)
	}
	if r := w[fmt.Sprintf("spec.tls[0].hosts[%d]", kept)]; !strings.Contains(r, fmt.Sprintf("the limit is %d", model.MaxSNIHostsPerCertificate)) {
		t.Errorf("spec.tls[0].hosts[%d]: %q", kept, r)
	}
	if len(warningsOf(rejections, "ns", "old")) != 0 {
		t.Errorf("the older Ingress lost hosts: %v", warningsOf(rejections, "ns", "old"))
	}
}

// SNILines splits a certificate's hosts over crt-list lines within
// HAProxy's and the runtime API's limits, in order, losing none.
func TestSNILines(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + ".example"
	for _, tc := range []struct {
		name  string
		hosts []string
	}{
		{"none", nil},
		{"one", []string{"a.example"}},
		{"exactly one line", manyHosts("h", model.SNIHostsPerLine, "x.example")},
		{"one more", manyHosts("h", model.SNIHostsPerLine+1, "x.example")},
		{"many", manyHosts("h", 2100, "x.example")},
		{"long names", manyHosts("h", 250, long)},
	} {
		c := model.Certificate{SNI: tc.hosts}
		lines := c.SNILines()
		var all []string
		for _, line := range lines {
			size := 0
			for _, h := range line {
				size += len(h) + 1
			}
			if len(line) > model.SNIHostsPerLine || size > model.SNIBytesPerLine {
				t.Errorf("%s: a line of %d hosts, %d bytes", tc.name, len(line), size)
			}
			if len(line) == 0 && len(tc.hosts) > 0 {
				t.Errorf("%s: an empty line", tc.name)
			}
			all = append(all, line...)
		}
		if !slices.Equal(all, tc.hosts) || len(lines) == 0 {
			t.Errorf("%s: %d lines hold %d hosts, want all %d in order", tc.name, len(lines), len(all), len(tc.hosts))
		}
	}
}
