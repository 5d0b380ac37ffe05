package model_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// patchWorld is a snapshot whose EndpointSlices a property test changes at
// random; everything else stays.
type patchWorld struct {
	rng    *rand.Rand
	snap   model.Snapshot
	slices map[string]*discoveryv1.EndpointSlice // "ns/name"
}

var patchServices = []struct{ namespace, name string }{
	{"a", "web"}, {"a", "api"}, {"a", "gone"}, {"b", "web"}, {"b", "ext"}, {"b", "bad"}, {"c", "web"}, {"a", "tls"}, {"b", "tls"},
}

func newPatchWorld(t *testing.T, seed uint64) *patchWorld {
	w := &patchWorld{rng: rand.New(rand.NewPCG(seed, 7)), slices: map[string]*discoveryv1.EndpointSlice{}}
	ca, err := tlscert.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.SelfSigned([]string{"x.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caSecret := mt.TLSSecret("a", "ca", pair.CertPEM, pair.KeyPEM)
	caSecret.Data["ca.crt"] = ca.Pair.CertPEM
	w.snap.Secrets = append(w.snap.Secrets, caSecret) // b/tls names a CA Secret that does not exist
	for _, s := range patchServices {
		switch s.name {
		case "tls": // a Service option that reads a Secret
			svc := mt.Service(s.namespace, s.name, mt.ServicePort("http", 80), mt.ServicePort("admin", 9000), mt.ServicePort("", 8443))
			svc.Annotations = map[string]string{model.AnnotationPrefix + "backend-protocol": "HTTPS", model.AnnotationPrefix + "backend-ca-secret": "ca"}
			w.snap.Services = append(w.snap.Services, svc)
		case "gone": // routed to, never created
		case "ext":
			svc := mt.Service(s.namespace, s.name, mt.ServicePort("http", 80))
			svc.Spec.Type = corev1.ServiceTypeExternalName
			w.snap.Services = append(w.snap.Services, svc)
		case "bad":
			svc := mt.Service(s.namespace, s.name, mt.ServicePort("http", 80))
			svc.Annotations = map[string]string{model.AnnotationPrefix + "timeout-server": "soon"}
			w.snap.Services = append(w.snap.Services, svc)
		default:
			w.snap.Services = append(w.snap.Services,
				mt.Service(s.namespace, s.name, mt.ServicePort("http", 80), mt.ServicePort("admin", 9000), mt.ServicePort("", 8443)))
		}
		// One Ingress per Service, by port name and by number (two
		// backends), and one by the unnamed port's number.
		w.snap.Ingresses = append(w.snap.Ingresses, mt.Ingress(s.namespace, "to-"+s.name,
			mt.Rule(s.name+"."+s.namespace+".example",
				mt.Path("Prefix", "/", s.name, "http"),
				mt.Path("Prefix", "/admin", s.name, 9000),
				mt.Path("Prefix", "/tls", s.name, 8443))))
	}
	return w
}

// endpoint is a random endpoint, now and then one the model refuses.
func (w *patchWorld) endpoint() mt.Endpoint {
	addr := fmt.Sprintf("10.%d.0.%d", w.rng.IntN(2), 1+w.rng.IntN(6))
	switch w.rng.IntN(12) {
	case 0:
		addr = "127.0.0.1"
	case 1:
		addr = "not-an-address"
	case 2:
		addr = "fd00::1" // not IPv4
	}
	ep := mt.Endpoint{Address: addr, Ready: w.rng.IntN(4) > 0, Serving: w.rng.IntN(2) == 0, Terminating: w.rng.IntN(3) == 0}
	return ep
}

// change makes one random change to the slices and returns the Services
// it touched ("ns/name"): the old and the new owner of a relabelled slice.
func (w *patchWorld) change() []string {
	s := patchServices[w.rng.IntN(len(patchServices))]
	name := fmt.Sprintf("%s-%d", s.name, w.rng.IntN(3))
	key := s.namespace + "/" + name
	old := w.slices[key]
	touched := []string{s.namespace + "/" + s.name}
	if old != nil {
		touched = append(touched, old.Namespace+"/"+old.Labels[discoveryv1.LabelServiceName])
	}
	switch op := w.rng.IntN(10); {
	case op == 0 && old != nil:
		delete(w.slices, key)
	default:
		owner := s.name
		if w.rng.IntN(8) == 0 { // relabelled to another Service
			owner = patchServices[w.rng.IntN(len(patchServices))].name
			touched = append(touched, s.namespace+"/"+owner)
		}
		portName, port := "http", int32(8080)
		switch w.rng.IntN(6) {
		case 0:
			portName, port = "admin", 9001
		case 1:
			portName, port = "", 8443
		case 2:
			port = 70000 // refused
		}
		var eps []mt.Endpoint
		for range w.rng.IntN(5) {
			eps = append(eps, w.endpoint())
		}
		slice := mt.Slice(s.namespace, owner, name, portName, port, eps...)
		if w.rng.IntN(15) == 0 {
			slice.AddressType = discoveryv1.AddressTypeFQDN
		}
		w.slices[key] = slice
	}
	w.snap.EndpointSlices = w.snap.EndpointSlices[:0]
	for _, s := range w.slices {
		w.snap.EndpointSlices = append(w.snap.EndpointSlices, s)
	}
	return touched
}

// serviceSlices is what the controller hands PatchEndpoints for keys.
func (w *patchWorld) serviceSlices(keys []string) []model.ServiceSlices {
	var out []model.ServiceSlices
	for _, key := range keys {
		var ss model.ServiceSlices
		for _, s := range patchServices {
			if s.namespace+"/"+s.name == key {
				ss.Namespace, ss.Name = s.namespace, s.name
			}
		}
		for _, svc := range w.snap.Services {
			if svc.Namespace == ss.Namespace && svc.Name == ss.Name {
				ss.Service = svc
			}
		}
		for _, slice := range w.snap.EndpointSlices {
			if slice.Namespace == ss.Namespace && slice.Labels[discoveryv1.LabelServiceName] == ss.Name {
				ss.Slices = append(ss.Slices, slice)
			}
		}
		out = append(out, ss)
	}
	return out
}

// TestPatchEndpointsMatchesBuild applies random sequences of EndpointSlice
// changes, each patched onto the previous patched model, and compares the
// result with a full Build of the same snapshot after every change.
func TestPatchEndpointsMatchesBuild(t *testing.T) {
	opts := options()
	for seed := range uint64(60) {
		w := newPatchWorld(t, seed)
		cfg, rejections := model.Build(w.snap, opts)
		for step := range 40 {
			before := copyBackends(cfg.Backends)
			keys := w.change()
			p := model.PatchEndpoints(&cfg, w.serviceSlices(keys), opts)
			wantCfg, wantRejections := model.Build(w.snap, opts)
			gotRejections := model.ReplaceSliceRejections(rejections, &p)
			if !reflect.DeepEqual(p.Config, wantCfg) {
				t.Fatalf("seed %d step %d (%v): patched model differs from Build:\npatched %+v\nbuilt   %+v", seed, step, keys, copyBackends(p.Config.Backends), copyBackends(wantCfg.Backends))
			}
			if !reflect.DeepEqual(gotRejections, wantRejections) {
				t.Fatalf("seed %d step %d (%v): rejections differ:\npatched %v\nbuilt   %v", seed, step, keys, gotRejections, wantRejections)
			}
			if !reflect.DeepEqual(copyBackends(cfg.Backends), before) {
				t.Fatalf("seed %d step %d: the patch modified the previous model", seed, step)
			}
			for _, name := range p.Backends {
				if _, ok := slices.BinarySearchFunc(p.Config.Backends, name, func(b *model.Backend, n string) int {
					if b.Name < n {
						return -1
					} else if b.Name > n {
						return 1
					}
					return 0
				}); !ok {
					t.Fatalf("seed %d step %d: patch names unknown backend %s", seed, step, name)
				}
			}
			cfg, rejections = p.Config, gotRejections
		}
	}
}

func copyBackends(bs []*model.Backend) []model.Backend {
	out := make([]model.Backend, len(bs))
	for i, b := range bs {
		out[i] = *b
		out[i].Endpoints = slices.Clone(b.Endpoints)
	}
	return out
}

// TestPatchEndpointsNamesOnlyChangedBackends: a change to one Service
// patches its backends and shares the rest.
func TestPatchEndpointsNamesOnlyChangedBackends(t *testing.T) {
	snap := model.Snapshot{
		Services: []*corev1.Service{mt.Service("a", "web", mt.ServicePort("http", 80)), mt.Service("a", "api", mt.ServicePort("http", 80))},
		Ingresses: []*networkingv1.Ingress{mt.Ingress("a", "i", mt.Rule("x.example",
			mt.Path("Prefix", "/", "web", "http"), mt.Path("Prefix", "/api", "api", "http")))},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			mt.Slice("a", "web", "web-1", "http", 8080, mt.Ready("10.0.0.1")),
			mt.Slice("a", "api", "api-1", "http", 8080, mt.Ready("10.0.0.2")),
		},
	}
	cfg, _ := model.Build(snap, options())
	web := mt.Slice("a", "web", "web-1", "http", 8080, mt.Ready("10.0.0.3"))
	p := model.PatchEndpoints(&cfg, []model.ServiceSlices{{Namespace: "a", Name: "web", Service: snap.Services[0],
		Slices: []*discoveryv1.EndpointSlice{web}}}, options())
	if !slices.Equal(p.Backends, []string{"a_web_http"}) {
		t.Fatalf("changed backends %v, want [a_web_http]", p.Backends)
	}
	if &p.Config.Maps.PrefixPaths[0] != &cfg.Maps.PrefixPaths[0] {
		t.Error("the patch copied the maps it does not change")
	}
	if got := p.Config.Backends[1].Endpoints[0].Address.String(); got != "10.0.0.3" {
		t.Errorf("web's endpoint is %s, want 10.0.0.3", got)
	}
	if got := cfg.Backends[1].Endpoints[0].Address.String(); got != "10.0.0.1" {
		t.Errorf("the previous model changed: web's endpoint is %s", got)
	}
	same := model.PatchEndpoints(&p.Config, []model.ServiceSlices{{Namespace: "a", Name: "web", Service: snap.Services[0],
		Slices: []*discoveryv1.EndpointSlice{web}}}, options())
	if len(same.Backends) != 0 || &same.Config.Backends[0] != &p.Config.Backends[0] || same.Config.Backends[1] != p.Config.Backends[1] {
		t.Errorf("a patch without a change changed backends %v", same.Backends)
	}
}
