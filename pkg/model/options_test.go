package model_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestOptionConflictOldestWins: two served Ingresses set different
// timeout-server values for one Service port: the older one's applies, the
// younger gets a Warning naming the annotation as every other rejection
// names it, and both keep serving, whatever the order of the snapshot.
func TestOptionConflictOldestWins(t *testing.T) {
	older := mt.Ingress("ns", "b-older", mt.Annotation("bollard.io/timeout-server", "10s"),
		mt.Rule("old.example", mt.Path("Prefix", "/", "svc", 80)))
	younger := mt.Ingress("ns", "a-younger", mt.Age(time.Hour), mt.Annotation("bollard.io/timeout-server", "20s"),
		mt.Rule("young.example", mt.Path("Prefix", "/", "svc", 80)))
	other := mt.Ingress("ns", "c-other", mt.Age(2*time.Hour), mt.Annotation("bollard.io/load-balance", "leastconn"),
		mt.Rule("other.example", mt.Path("Prefix", "/", "svc", 80)))
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{older, younger, other},
		Services:  []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80)), mt.Service("ns", "svc2", mt.ServicePort("", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			mt.Slice("ns", "svc", "svc-1", "", 8080, mt.Ready("198.18.0.10"), mt.Ready("198.18.0.11")),
			mt.Slice("ns", "svc", "svc-2", "", 8080, mt.Ready("198.18.0.12")),
		},
	}
	cfg, rejections := model.Build(snap, options())
	if got := entries(cfg.Maps.ServerTimeouts); !reflect.DeepEqual(got, map[string]string{"ns_svc_80": "10000"}) {
		t.Errorf("server timeouts %v, want the older Ingress's 10s", got)
	}
	if be, _ := cfg.Backend("ns_svc_80"); be.Options.Balance != "leastconn" {
		t.Errorf("an option no other Ingress sets applies: %+v", be.Options)
	}
	if want := []string{"ns/a-younger", "ns/b-older", "ns/c-other"}; !reflect.DeepEqual(cfg.Served, want) {
		t.Errorf("served %v, want %v", cfg.Served, want)
	}
	if len(rejections) != 1 {
		t.Fatalf("want one Warning, got %v", rejections)
	}
	r := rejections[0]
	if !r.Warning || r.Kind != "Ingress" || r.Name != "a-younger" || r.Field != annotationField("timeout-server") ||
		!strings.Contains(r.Reason, "ns/b-older") || !strings.Contains(r.Reason, "10s") {
		t.Errorf("want a Warning on the younger Ingress naming %s and the older one, got %+v", annotationField("timeout-server"), r)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		shuffled := snap
		shuffled.Ingresses = slices.Clone(snap.Ingresses)
		shuffled.EndpointSlices = slices.Clone(snap.EndpointSlices)
		shuffled.Services = slices.Clone(snap.Services)
		rng.Shuffle(len(shuffled.Ingresses), func(a, b int) {
			shuffled.Ingresses[a], shuffled.Ingresses[b] = shuffled.Ingresses[b], shuffled.Ingresses[a]
		})
		rng.Shuffle(len(shuffled.EndpointSlices), func(a, b int) {
			shuffled.EndpointSlices[a], shuffled.EndpointSlices[b] = shuffled.EndpointSlices[b], shuffled.EndpointSlices[a]
		})
		rng.Shuffle(len(shuffled.Services), func(a, b int) {
			shuffled.Services[a], shuffled.Services[b] = shuffled.Services[b], shuffled.Services[a]
		})
		got, gotRej := model.Build(shuffled, options())
		if !reflect.DeepEqual(got, cfg) || !reflect.DeepEqual(gotRej, rejections) {
			t.Fatalf("shuffle %d changed the result:\n%+v\n%v", i, got, gotRej)
		}
	}
}
