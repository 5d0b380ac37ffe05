package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/watch"
)

func TestChangeLogPatchesOnlySliceChanges(t *testing.T) {
	l := newChangeLog()
	if p := l.take(); !p.full {
		t.Error("nothing noted: want a full build (a retry or a timer asked)")
	}
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "web-x", Service: "web"})
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "moved", Service: "api"})
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "moved", Service: "web2"})
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "orphan"}) // no Service: the model ignores it
	if p := l.take(); p.full || !slices.Equal(p.services, []string{"a/api", "a/web", "a/web2"}) {
		t.Errorf("take = %+v; want the slices' Services, old and new, patched", p)
	}
	if p := l.take(); !p.full || len(p.services) != 0 {
		t.Errorf("take did not empty the log: %+v", p)
	}
	for _, kind := range []string{"Ingress", "IngressClass", "Service", "Secret", "AuthSecret", "ConfigMap"} {
		l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "web-x", Service: "web"})
		l.note(watch.Change{Kind: kind, Namespace: "a", Name: "x"})
		p := l.take()
		if !p.full || !slices.Equal(p.services, []string{"a/web"}) {
			t.Errorf("a %s change beside a slice change: take = %+v, want a full build and the Service", kind, p)
		}
		// Only a Service or ConfigMap change can leave the last model's
		// Services out of date.
		if p.patchable != (kind != "Service" && kind != "ConfigMap") {
			t.Errorf("a %s change: patchable %v", kind, p.patchable)
		}
	}
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "web-x", Service: "web"})
	l.markFull()
	if p := l.take(); !p.full || p.patchable {
		t.Errorf("markFull: take = %+v, want a full build that is not patchable", p)
	}
	for i := range maxPatchedServices + 1 {
		l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "s", Service: fmt.Sprint("svc", i)})
	}
	if p := l.take(); !p.full || p.patchable {
		t.Errorf("%d Services changed: want a full build", maxPatchedServices+1)
	}
}

// TestChangeLogBackgroundBookkeeping: the Services a background build
// must patch in are the slice changes noted after track, and a full build
// put back survives the next take only as far as it was noted.
func TestChangeLogBackgroundBookkeeping(t *testing.T) {
	l := newChangeLog()
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "x", Service: "before"})
	l.track()
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "y", Service: "after"})
	l.note(watch.Change{Kind: "Ingress", Namespace: "a", Name: "i"})
	if p := l.take(); !p.full || !p.patchable || !slices.Equal(p.services, []string{"a/after", "a/before"}) {
		t.Errorf("take = %+v", p)
	}
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "z", Service: "later"})
	if since := l.untrack(); !slices.Equal(since, []string{"a/after", "a/later"}) {
		t.Errorf("untrack = %v, want the Services noted after track, taken or not", since)
	}
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "w", Service: "untracked"})
	if since := l.untrack(); len(since) != 0 {
		t.Errorf("untrack after untrack = %v", since)
	}
	l.take()
	if l.hasPending() {
		t.Error("hasPending after take")
	}
	l.putBack(pending{full: true, patchable: true})
	if p := l.take(); !p.full || !p.patchable {
		t.Errorf("put back an Ingress change: take = %+v", p)
	}
	l.putBack(pending{full: true, patchable: false})
	if !l.hasPending() {
		t.Error("a full build put back is pending")
	}
	if p := l.take(); !p.full || p.patchable {
		t.Errorf("put back a Service change: take = %+v", p)
	}
	l.putBack(pending{services: []string{"a/s"}})
	if l.hasPending() {
		t.Error("putting back a patch notes nothing: its Services were patched")
	}
	if p := l.take(); !p.full || p.noted {
		t.Errorf("an empty take: %+v, want a full build that noted nothing (a retry or a timer)", p)
	}
	l.note(watch.Change{Kind: "EndpointSlice", Namespace: "a", Name: "x", Service: "s"})
	if p := l.take(); p.full || !p.noted {
		t.Errorf("a slice change: %+v, want a noted patch", p)
	}
}

// TestDiffPatchedMatchesDiff: for a model patched from the running one,
// the update planned from the patched backends alone (and the maps, after
// AddIngress) is the update the whole diff plans, including the reload
// when the slots run out.
func TestDiffPatchedMatchesDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	services := []string{"web", "api", "img"}
	snap := model.Snapshot{}
	for _, name := range services {
		snap.Services = append(snap.Services, mt.Service("ns", name, mt.ServicePort("http", 80)))
		snap.Ingresses = append(snap.Ingresses, mt.Ingress("ns", name, mt.Rule(name+".example", mt.Path("Prefix", "/", name, 80))))
	}
	slicesOf := map[string]*discoveryv1.EndpointSlice{}
	snapSlices := func() []*discoveryv1.EndpointSlice {
		var out []*discoveryv1.EndpointSlice
		for _, name := range services {
			if s := slicesOf[name]; s != nil {
				out = append(out, s)
			}
		}
		return out
	}
	cfg, _ := model.Build(snap, opts)
	r := newRunning(&cfg)
	reloads := 0
	for step := range 300 {
		name := services[rng.IntN(len(services))]
		var eps []mt.Endpoint
		for range rng.IntN(12) { // more than 8 slots now and then
			eps = append(eps, mt.Endpoint{Address: fmt.Sprintf("198.18.0.%d", 1+rng.IntN(20)), Ready: rng.IntN(5) > 0,
				Serving: true, Terminating: rng.IntN(4) == 0})
		}
		slicesOf[name] = mt.Slice("ns", name, name+"-1", "http", 8080, eps...)
		snap.EndpointSlices = snapSlices()
		base := r.cfg
		addMaps := rng.IntN(3) == 0 // a new Ingress too, now and then
		if addMaps {
			ing := mt.Ingress("ns", fmt.Sprintf("new-%d", step), mt.Rule(fmt.Sprintf("new-%d.example", step),
				mt.Path("Prefix", "/", name, 80), mt.Path("Exact", "/x", services[rng.IntN(len(services))], 80)))
			added, why := model.AddIngress(base, ing, nil, opts)
			if why != "" {
				t.Fatalf("step %d: AddIngress declined: %s", step, why)
			}
			base = &added
		}
		p := model.PatchEndpoints(base, []model.ServiceSlices{{Namespace: "ns", Name: name,
			Service: serviceNamed(snap.Services, name), Slices: []*discoveryv1.EndpointSlice{slicesOf[name]}}}, opts)
		patched := r.diffPatched(&p.Config, p.Backends, addMaps, relRefs{}, haproxy.Features{})
		whole := r.diff(&p.Config, relRefs{}, haproxy.Features{})
		if patched.reload != whole.reload || commandLines(patched) != commandLines(whole) {
			t.Fatalf("step %d: patched diff\n%q\n%s\nwhole diff\n%q\n%s", step, patched.reload, commandLines(patched), whole.reload, commandLines(whole))
		}
		if whole.reload != "" {
			reloads++
			r = newRunning(&p.Config)
			continue
		}
		r.applied(patched, &p.Config)
	}
	if reloads == 0 {
		t.Error("no step ran out of slots: the test does not reach the reload")
	}
}

func serviceNamed(list []*corev1.Service, name string) *corev1.Service {
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// TestPlanAfterResyncDiffsEverything: once HAProxy's state was read back
// (a restart, a half-failed batch), the running config is not the patch's
// base, and the plan is the whole diff: a route the patch's base had but
// HAProxy lost is sent again, which the patched backends alone would miss.
func TestPlanAfterResyncDiffsEverything(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	base := build(t, baseSnapshot(web))
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	slice := mt.Slice("ns", "web", "web-1", "http", 8080, mt.Ready("198.18.0.10"), mt.Ready("198.18.0.12"))
	p := model.PatchEndpoints(base, []model.ServiceSlices{{Namespace: "ns", Name: "web",
		Service: baseSnapshot().Services[0], Slices: []*discoveryv1.EndpointSlice{slice}}}, opts)
	c := &Controller{built: &builtModel{cfg: &p.Config, base: base, patched: p.Backends}, running: newRunning(base)}
	if lines := commandLines(c.plan(&p.Config)); strings.Contains(lines, "map") || !strings.Contains(lines, "198.18.0.12") {
		t.Fatalf("HAProxy runs the base: want the slot commands alone, got\n%s", lines)
	}
	// Read back from an HAProxy that lost the route (its maps are empty).
	lost := *base
	lost.Maps = model.Maps{}
	c.running = newRunning(&lost)
	if lines := commandLines(c.plan(&p.Config)); !strings.Contains(lines, "add map maps/hosts.map web.example") || !strings.Contains(lines, "198.18.0.12") {
		t.Fatalf("after a read-back: want the whole diff (the lost route and the slots), got\n%s", lines)
	}
}
