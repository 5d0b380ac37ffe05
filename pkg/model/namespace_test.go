package model_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestHostileNamespaces: a namespace the API server would refuse (from a
// file, or from anything else that skips it) never reaches a backend name,
// a certificate file name or a map; the object is left out with a
// rejection that shows the namespace quoted.
func TestHostileNamespaces(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"h.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"../../..", "a\n  lua-load /tmp/x.lua", "", "A", "a_b", strings.Repeat("a", 64)} {
		ing := mt.Ingress(ns, "web", mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)), mt.TLS("tls", "h.example"))
		snap := model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{healthy(), ing},
			Services:       []*corev1.Service{mt.Service(ns, "svc", mt.ServicePort("", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice(ns, "svc", "svc-1", "", 8080, mt.Ready("10.0.0.1"))},
			Secrets:        []*corev1.Secret{mt.TLSSecret(ns, "tls", pair.CertPEM, pair.KeyPEM)},
		}
		cfg, rejections := model.Build(snap, options())
		for _, be := range cfg.Backends {
			if be.Namespace != "ns" {
				t.Errorf("namespace %q: backend %s was built", ns, be.Name)
			}
		}
		if len(cfg.Certificates) != 0 {
			t.Errorf("namespace %q: certificates %v were built", ns, cfg.Certificates)
		}
		if got := entries(cfg.Maps.PrefixPaths); got["h.example/"] != "" {
			t.Errorf("namespace %q: h.example is routed to %s", ns, got["h.example/"])
		}
		want := map[string]bool{"Ingress": false, "Service": false, "EndpointSlice": false, "Secret": false}
		for _, r := range rejections {
			if r.Field == "metadata.namespace" && r.Namespace == ns {
				want[r.Kind] = true
			}
			if strings.ContainsAny(r.String(), "\r\n") {
				t.Errorf("a rejection holds a line break: %q", r.String())
			}
		}
		for kind, seen := range want {
			if !seen {
				t.Errorf("namespace %q: no metadata.namespace rejection of the %s: %v", ns, kind, rejections)
			}
		}
		if entries(cfg.Maps.PrefixPaths)["ok.example/"] == "" {
			t.Errorf("namespace %q: the healthy Ingress next to it must still route", ns)
		}
	}
}
