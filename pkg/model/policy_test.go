package model_test

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

func buildPolicy(t *testing.T, annotations map[string]string) (model.Config, []model.Rejection) {
	t.Helper()
	opts := []mt.IngressOption{}
	for k, v := range annotations {
		opts = append(opts, mt.Annotation("bollard.io/"+k, v))
	}
	opts = append(opts, mt.Rule("h.example", mt.Path("Prefix", "/api", "svc", 80), mt.Path("Exact", "/x", "svc", 80)))
	return model.Build(model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "ing", opts...)},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
	}, options())
}

// Equivalent spellings of a policy give the same maps: a change between
// them is no change at all.
func TestEquivalentPolicyValuesRenderAlike(t *testing.T) {
	for _, pair := range [][2]map[string]string{
		{{"allow-list": "10.0.0.0/8"}, {"allow-list": " 10.1.2.3/8 , 10.0.0.0/8,"}},
		{{"allow-list": "::ffff:10.0.0.0/104"}, {"allow-list": "10.0.0.0/8"}},
		{{"deny-list": "192.168.1.7"}, {"deny-list": "192.168.1.7/32"}},
		{{"request-set-headers": "X-A: 1\nX-B: 2"}, {"request-set-headers": "x-b:2\r\n\nX-A:   1  "}},
		{{"cors-enable": "true", "cors-allow-origin": "https://a.example,https://B.example"}, {"cors-enable": "true", "cors-allow-origin": "https://b.example, https://a.example"}},
		{{"cors-enable": "true", "cors-allow-methods": "GET,PUT"}, {"cors-enable": "true", "cors-allow-methods": " GET , PUT "}},
		{{"hsts": "true"}, {"hsts": "true", "hsts-max-age": "31536000", "hsts-include-subdomains": "true"}},
		{{"permanent-redirect": "https://a.example/"}, {"permanent-redirect": "https://a.example/", "permanent-redirect-code": "301"}},
	} {
		a, ra := buildPolicy(t, pair[0])
		b, rb := buildPolicy(t, pair[1])
		if len(ra)+len(rb) > 0 {
			t.Fatalf("%v / %v: %v %v", pair[0], pair[1], ra, rb)
		}
		if !reflect.DeepEqual(a.Maps, b.Maps) || !reflect.DeepEqual(a.Backends, b.Backends) {
			t.Errorf("%v and %v give different configs:\n%+v\n%+v", pair[0], pair[1], a.Maps.Policy, b.Maps.Policy)
		}
	}
}

// Contradictions leave the Ingress out; options without effect warn.
func TestPolicyCombinations(t *testing.T) {
	for _, c := range []struct {
		annotations map[string]string
		field       string
		warning     bool
		reason      string
	}{
		{map[string]string{"permanent-redirect": "https://a.example/", "temporal-redirect": "https://b.example/"}, "temporal-redirect", false, "redirects one way"},
		{map[string]string{"cors-enable": "true", "cors-allow-credentials": "true"}, "cors-allow-credentials", false, "list the origins"},
		{map[string]string{"cors-max-age": "5"}, "cors-max-age", true, "cors-enable is not true"},
		{map[string]string{"hsts-preload": "true"}, "hsts-preload", true, "hsts is not true"},
		{map[string]string{"permanent-redirect-code": "308"}, "permanent-redirect-code", true, "permanent-redirect is not set"},
		{map[string]string{"app-root": "/a", "temporal-redirect": "https://b.example/"}, "app-root", true, "redirects every request"},
	} {
		cfg, rejections := buildPolicy(t, c.annotations)
		found := false
		for _, r := range rejections {
			if r.Field == `metadata.annotations["bollard.io/`+c.field+`"]` && r.Warning == c.warning && strings.Contains(r.Reason, c.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v: want %s (warning %v, %q), got %v", c.annotations, c.field, c.warning, c.reason, rejections)
		}
		if served := len(cfg.Served) == 1; served != c.warning {
			t.Errorf("%v: served %v, want %v", c.annotations, cfg.Served, c.warning)
		}
	}
}

// rewrite-target: Prefix paths deeper than the rules HAProxy has are left
// out, with the reason; shallower ones and Exact paths are served.
func TestRewriteDepth(t *testing.T) {
	deep := "/" + strings.Repeat("a/", model.MaxRewriteDepth) + "b"
	ing := mt.Ingress("ns", "ing", mt.Annotation("bollard.io/rewrite-target", "/"),
		mt.Rule("h.example", mt.Path("Prefix", deep, "svc", 80), mt.Path("Prefix", "/ok", "svc", 80), mt.Path("Exact", deep, "svc", 80)))
	cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{ing},
		Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))}}, options())
	if len(rejections) != 1 || rejections[0].Field != "spec.rules[0].http.paths[0].path" || !strings.Contains(rejections[0].Reason, "at most 16 segments") {
		t.Fatalf("rejections %v", rejections)
	}
	if len(cfg.Maps.Policy.RewritePrefix) != 1 || len(cfg.Maps.Policy.RewriteExact) != 1 {
		t.Errorf("rewrites %v %v", cfg.Maps.Policy.RewritePrefix, cfg.Maps.Policy.RewriteExact)
	}
}
