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

// ingressWorld makes random Ingresses from a small vocabulary, so that
// hosts, routes, backends, TLS entries, defaults and policies collide.
type ingressWorld struct {
	rng  *rand.Rand
	snap model.Snapshot
	next int
}

var (
	worldHosts    = []string{"a.example", "b.example", "c.example", "*.w.example", "x.w.example", ""}
	worldPaths    = []string{"/", "/a", "/a/", "/a/b", "/b"}
	worldTypes    = []string{"Prefix", "Exact", "ImplementationSpecific"}
	worldServices = []struct {
		name string
		port any
	}{{"web", "http"}, {"web", 80}, {"api", "http"}, {"gone", 80}, {"ext", 80}, {"web", 9999}, {"pol", "http"}}
)

func newIngressWorld(t *testing.T, seed uint64) *ingressWorld {
	w := &ingressWorld{rng: rand.New(rand.NewPCG(seed, 11))}
	pair, err := tlscert.SelfSigned([]string{"a.example", "b.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.snap.IngressClasses = []*networkingv1.IngressClass{
		mt.IngressClass("bollard", model.DefaultControllerName, false),
		mt.IngressClass("other", "example.com/other", false),
	}
	for _, ns := range []string{"a", "b"} {
		w.snap.Secrets = append(w.snap.Secrets, mt.TLSSecret(ns, "cert", pair.CertPEM, pair.KeyPEM))
		for _, name := range []string{"web", "api", "pol"} {
			w.snap.Services = append(w.snap.Services, mt.Service(ns, name, mt.ServicePort("http", 80)))
			w.snap.EndpointSlices = append(w.snap.EndpointSlices,
				mt.Slice(ns, name, name+"-1", "http", 8080, mt.Ready(fmt.Sprintf("10.0.%d.1", w.rng.IntN(200)))))
		}
		ext := mt.Service(ns, "ext", mt.ServicePort("http", 80))
		ext.Spec.Type = corev1.ServiceTypeExternalName
		w.snap.Services = append(w.snap.Services, ext)
		// A route with a policy to pol, so that pol's backend has policies.
		w.snap.Ingresses = append(w.snap.Ingresses, w.policed(ns))
	}
	for range w.rng.IntN(8) {
		w.snap.Ingresses = append(w.snap.Ingresses, w.ingress(false))
	}
	return w
}

func (w *ingressWorld) policed(ns string) *networkingv1.Ingress {
	w.next++
	return mt.Ingress(ns, fmt.Sprintf("policed-%d", w.next), mt.Age(-time.Hour),
		mt.Annotation(model.AnnotationPrefix+"allow-list", "10.0.0.0/8"),
		mt.Rule("pol-"+ns+".example", mt.Path("Prefix", "/", "pol", "http")))
}

// ingress is a random Ingress; simple ones have a new host, no TLS, no
// default backend and no annotations, as AddIngress wants them.
func (w *ingressWorld) ingress(simple bool) *networkingv1.Ingress {
	w.next++
	r := w.rng
	ns := []string{"a", "b"}[r.IntN(2)]
	// Ages collide (creation times have whole seconds), so that name
	// order decides some.
	opts := []mt.IngressOption{mt.Age(time.Duration(r.IntN(6)) * time.Second)}
	switch r.IntN(10) {
	case 0:
		opts = append(opts, mt.Class("other"))
	case 1:
		opts = append(opts, mt.Class(""))
	}
	for range 1 + r.IntN(2) {
		host := worldHosts[r.IntN(len(worldHosts))]
		if simple || r.IntN(3) == 0 {
			host = fmt.Sprintf("n%d-%d.example", w.next, r.IntN(2))
			if r.IntN(6) == 0 {
				host = fmt.Sprintf("*.n%d.example", w.next)
			}
		}
		var paths []networkingv1.HTTPIngressPath
		for range r.IntN(3) {
			svc := worldServices[r.IntN(len(worldServices))]
			path := worldPaths[r.IntN(len(worldPaths))]
			if r.IntN(20) == 0 {
				path = "a//b" // refused: not absolute
			}
			paths = append(paths, mt.Path(worldTypes[r.IntN(len(worldTypes))], path, svc.name, svc.port))
		}
		opts = append(opts, mt.Rule(host, paths...))
	}
	if !simple {
		switch r.IntN(8) {
		case 0:
			opts = append(opts, mt.TLS("cert", worldHosts[r.IntN(3)]))
		case 1:
			opts = append(opts, mt.TLS(""), mt.Annotation(model.AnnotationPrefix+"ssl-redirect", "true"))
		case 2:
			opts = append(opts, mt.DefaultBackend("web", "http"))
		case 3:
			opts = append(opts, mt.Annotation(model.AnnotationPrefix+"timeout-server", "5s"))
		case 4:
			opts = append(opts, mt.Annotation(model.AnnotationPrefix+"rewrite-target", "/"))
		case 5:
			opts = append(opts, mt.Rule(""))
		}
	}
	return mt.Ingress(ns, fmt.Sprintf("ing-%d", w.next), opts...)
}

// TestAddIngressMatchesBuild adds random Ingresses one by one, each onto
// the previous model, and compares every model AddIngress accepts with a
// full Build of the same snapshot; one it declines is built in full. The
// rejections must stay those of the previous model.
func TestAddIngressMatchesBuild(t *testing.T) {
	added, declined := 0, 0
	for seed := range uint64(300) {
		w := newIngressWorld(t, seed)
		opts := options()
		if seed%3 == 0 {
			opts.HostOwnership = model.HostOwnershipFirstNamespace
		}
		if seed%5 == 0 && len(w.snap.Ingresses) > 2 {
			ing := w.snap.Ingresses[2]
			opts.Refused = map[string]string{ing.Namespace + "/" + ing.Name: "refused"}
			// and Ingresses still to come, as after a delete and a create
			for _, key := range []string{"a/ing-12", "b/ing-12", "a/ing-15", "b/ing-15"} {
				opts.Refused[key] = "refused"
			}
		}
		if seed%4 == 1 {
			// Only a catch-all default: no host key, no route yet.
			w.snap.Ingresses = []*networkingv1.Ingress{mt.Ingress("a", "catch-all", mt.Age(-time.Hour), mt.DefaultBackend("web", "http"))}
		}
		cfg, rejections := model.Build(w.snap, opts)
		for step := range 12 {
			ing := w.ingress(w.rng.IntN(2) == 0)
			prevSnap := w.snap
			w.snap.Ingresses = append(slices.Clip(w.snap.Ingresses), ing)
			got, why := model.AddIngress(&cfg, ing, w.snap.IngressClasses, opts)
			want, wantRejections := model.Build(w.snap, opts)
			if why != "" {
				declined++
				cfg, rejections = want, wantRejections
				continue
			}
			added++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d step %d: AddIngress(%s) differs from Build:\nadded %+v\nbuilt %+v", seed, step, show(ing), got, want)
			}
			if !reflect.DeepEqual(rejections, wantRejections) {
				t.Fatalf("seed %d step %d: AddIngress(%s) took an Ingress that changes the rejections:\nbefore %v\nafter  %v", seed, step, show(ing), rejections, wantRejections)
			}
			if before, _ := model.Build(prevSnap, opts); !reflect.DeepEqual(cfg, before) {
				t.Fatalf("seed %d step %d: AddIngress modified the previous model", seed, step)
			}
			cfg = got
		}
	}
	t.Logf("added %d Ingresses, declined %d", added, declined)
	if added < 500 || declined < 500 {
		t.Fatalf("added %d, declined %d: the generator no longer reaches both sides", added, declined)
	}
}

func show(ing *networkingv1.Ingress) string {
	return fmt.Sprintf("%s/%s %v %+v", ing.Namespace, ing.Name, ing.Annotations, ing.Spec)
}

// TestAddIngressWithEndpointPatches: AddIngress and PatchEndpoints compose
// in either order into the model Build gives.
func TestAddIngressWithEndpointPatches(t *testing.T) {
	w := newIngressWorld(t, 1)
	w.snap.Ingresses = append(w.snap.Ingresses, mt.Ingress("a", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", "http"))))
	opts := options()
	cfg, _ := model.Build(w.snap, opts)
	ing := mt.Ingress("a", "fresh", mt.Rule("fresh.example", mt.Path("Prefix", "/", "web", "http")))
	slice := mt.Slice("a", "web", "web-1", "http", 8080, mt.Ready("10.9.9.9"))
	w.snap.Ingresses = append(slices.Clip(w.snap.Ingresses), ing)
	for i, s := range w.snap.EndpointSlices {
		if s.Namespace == "a" && s.Name == "web-1" {
			w.snap.EndpointSlices = slices.Clone(w.snap.EndpointSlices)
			w.snap.EndpointSlices[i] = slice
		}
	}
	want, _ := model.Build(w.snap, opts)
	web := w.snap.Services[0]
	patch := []model.ServiceSlices{{Namespace: "a", Name: "web", Service: web, Slices: []*discoveryv1.EndpointSlice{slice}}}

	added, why := model.AddIngress(&cfg, ing, w.snap.IngressClasses, opts)
	if why != "" {
		t.Fatalf("AddIngress declined: %s", why)
	}
	if p := model.PatchEndpoints(&added, patch, opts); !reflect.DeepEqual(p.Config, want) {
		t.Errorf("add, then patch: differs from Build\ngot  %+v\nwant %+v", p.Config, want)
	}
	p := model.PatchEndpoints(&cfg, patch, opts)
	if got, why := model.AddIngress(&p.Config, ing, w.snap.IngressClasses, opts); why != "" || !reflect.DeepEqual(got, want) {
		t.Errorf("patch, then add (%q): differs from Build\ngot  %+v\nwant %+v", why, got, want)
	}
}

// TestAddIngressFirstRoutes: the first routes of a model, without a host
// or with a wildcard one, come out as Build makes them (an empty hosts
// map, not none).
func TestAddIngressFirstRoutes(t *testing.T) {
	for _, host := range []string{"", "*.w.example", "x.example"} {
		snap := model.Snapshot{
			Services:       []*corev1.Service{mt.Service("a", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("a", "web", "web-1", "http", 8080, mt.Ready("10.0.0.1"))},
			Ingresses:      []*networkingv1.Ingress{mt.Ingress("a", "catch-all", mt.DefaultBackend("web", "http"))},
		}
		cfg, _ := model.Build(snap, options())
		ing := mt.Ingress("a", "first", mt.Rule(host, mt.Path("Prefix", "/x", "web", "http")))
		got, why := model.AddIngress(&cfg, ing, nil, options())
		snap.Ingresses = append(snap.Ingresses, ing)
		want, _ := model.Build(snap, options())
		if why != "" || !reflect.DeepEqual(got, want) {
			t.Errorf("host %q (%q): added %+v\nbuilt %+v", host, why, got.Maps, want.Maps)
		}
	}
}
