package model_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// annotationField is how a rejection names a bollard.io annotation.
func annotationField(name string) string {
	return `metadata.annotations["bollard.io/` + name + `"]`
}

// optionSnapshot is one Ingress with the given annotations routing
// h.example to Service ns/svc port 80, which has one ready endpoint.
func optionSnapshot(annotations map[string]string) model.Snapshot {
	ing := mt.Ingress("ns", "i", mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	for k, v := range annotations {
		mt.Annotation(k, v)(ing)
	}
	return model.Snapshot{
		Ingresses:      []*networkingv1.Ingress{ing},
		Services:       []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "svc", "svc-1", "", 8080, mt.Ready("198.18.0.10"))},
	}
}

// HAProxy reads '#' as the start of a comment anywhere on a line and "'"
// as the start of a quoted string: a cookie name or a check path with one
// silently changed the backend (`cookie a#b insert` became `cookie a`) or
// made haproxy -c fail for every backend when the ConfigMap set it.
func TestOptionValuesWithHAProxyQuotingAreRefused(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"affinity-cookie-name", "a#b"},
		{"affinity-cookie-name", "a'b"},
		{"health-check-path", "/a'b"},
		{"health-check-path", "/a#b"},
	} {
		t.Run(c.name+" "+c.value, func(t *testing.T) {
			cfg, rejections := model.Build(optionSnapshot(map[string]string{"bollard.io/affinity": "cookie", "bollard.io/" + c.name: c.value}), options())
			if len(cfg.Served) != 0 {
				t.Errorf("the Ingress must be left out, served %v", cfg.Served)
			}
			assertRejectionField(t, rejections, annotationField(c.name), "")
		})
	}
}
