package controller

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// TestNewIngressAddedToLastModel: a new Ingress of the shape model.AddIngress
// takes is added to the last model in the pass that notes it, with no full
// build, and the update to HAProxy is its map entries; an update of it, a
// delete, or a new Ingress while a full build runs, still go through a
// full build.
func TestNewIngressAddedToLastModel(t *testing.T) {
	c, client := backgroundController(t)
	held := holdBuilds(c)
	ctx := context.Background()
	ings := client.NetworkingV1().Ingresses("ns")
	before := c.built
	if _, err := ings.Create(ctx, mt.Ingress("ns", "b", mt.Rule("b.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	snap, cfg, ok := pass(c)
	if !ok || !served(cfg, "b.example") {
		t.Fatalf("a new Ingress: ok %v, b.example served %v; want it added in this pass", ok, ok && served(cfg, "b.example"))
	}
	if c.background.isRunning() || !slices.Equal(c.built.added, []string{"ns/b"}) || c.built.base != before.cfg {
		t.Fatalf("want an Ingress patch of the last model: background %v, added %v", c.background.isRunning(), c.built.added)
	}
	if len(snap.Ingresses) != 2 || len(before.live.Ingresses) != 1 || !slices.Equal(cfg.Served, []string{"ns/a", "ns/b"}) {
		t.Fatalf("snapshot %d Ingresses (the last model's %d), served %v", len(snap.Ingresses), len(before.live.Ingresses), cfg.Served)
	}
	c.running.cfg = before.cfg // HAProxy runs the model before the patch
	u := c.plan(cfg)
	lines := commandLines(u)
	if u.reload != "" || !strings.Contains(lines, "add map maps/hosts.map b.example b.example") ||
		!strings.Contains(lines, "add map maps/paths-prefix.map b.example/ ns_web_http") {
		t.Fatalf("the update: reload %q, commands\n%s\nwant the new host's map entries", u.reload, lines)
	}
	c.running.cfg = cfg

	// An update of an Ingress the model has is built in full.
	if _, err := ings.Update(ctx, mt.Ingress("ns", "b", mt.Rule("b.example", mt.Path("Prefix", "/v2", "web", "http"))), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, _, ok := pass(c); ok {
		t.Fatal("an Ingress update: want the full build in the background")
	}
	<-held.started
	// A new Ingress while it runs waits for a build: the running one's
	// snapshot may hold it already.
	if _, err := ings.Create(ctx, mt.Ingress("ns", "c", mt.Rule("c.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, _, ok := pass(c); ok {
		t.Fatal("a new Ingress while a full build runs: want it to wait for a build")
	}
	held.release <- struct{}{}
	if _, cfg, ok = waitAdopted(t, c); !ok || !routes(cfg, "b.example/v2/") {
		t.Fatalf("adopted: ok %v; want the updated route b.example/v2", ok)
	}
	// The build's snapshot predates c: c is added to its model.
	if _, cfg, ok = pass(c); !ok || !served(cfg, "c.example") || !slices.Equal(c.built.added, []string{"ns/c"}) {
		t.Fatalf("the Ingress put back: ok %v, added %v; want c added to the adopted model", ok, c.built.added)
	}

	// So is an update that makes an Ingress of another class ours.
	if _, err := ings.Create(ctx, mt.Ingress("ns", "x", mt.Class("other"), mt.Rule("x.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, cfg, ok = pass(c); !ok || served(cfg, "x.example") || !slices.Equal(c.built.added, []string{"ns/x"}) {
		t.Fatalf("an Ingress of another class: ok %v, added %v; want it in the snapshot and nothing served", ok, c.built.added)
	}
	if _, err := ings.Update(ctx, mt.Ingress("ns", "x", mt.Rule("x.example", mt.Path("Prefix", "/", "web", "http"))), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, _, ok := pass(c); ok {
		t.Fatal("an update that makes an Ingress ours: want a full build")
	}
	<-held.started
	held.release <- struct{}{}
	if _, cfg, _ = waitAdopted(t, c); !served(cfg, "x.example") {
		t.Fatal("the build does not serve x.example")
	}

	// A delete, and a create of the same name, are built in full too.
	if err := ings.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, err := ings.Create(ctx, mt.Ingress("ns", "b", mt.Rule("b2.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if ing, ok := c.watcher.Ingress("ns", "b"); ok && ing.Spec.Rules[0].Host == "b2.example" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new b never reached the cache")
		}
	}
	if _, _, ok := pass(c); ok {
		t.Fatal("a delete and a create of the same name: want a full build")
	}
	<-held.started
	held.release <- struct{}{}
	if _, cfg, _ = waitAdopted(t, c); !served(cfg, "b2.example") || served(cfg, "b.example") {
		t.Fatal("the build does not serve the new b alone")
	}
}

// routes reports whether cfg has the Prefix route key.
func routes(cfg *model.Config, key string) bool {
	return slices.ContainsFunc(cfg.Maps.PrefixPaths, func(e model.MapEntry) bool { return e.Key == key })
}

// TestRememberAddedMatchesRemember: after an Ingress patch, lastGood holds
// what remembering the whole snapshot gives, also after a forget.
func TestRememberAddedMatchesRemember(t *testing.T) {
	for _, forget := range []bool{false, true} {
		c, client := backgroundController(t)
		ctx := context.Background()
		if forget {
			c.lastGood.forget("ns/a") // as after an isolation
		}
		for _, ing := range []*networkingv1.Ingress{
			mt.Ingress("ns", "b", mt.Rule("b.example", mt.Path("Prefix", "/", "web", "http"))),
			mt.Ingress("ns", "o", mt.Class("other"), mt.Rule("o.example", mt.Path("Prefix", "/", "web", "http"))),
		} {
			if _, err := client.NetworkingV1().Ingresses("ns").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(10 * time.Second); len(c.watcher.Snapshot().Ingresses) < 3; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the Ingresses never reached the cache")
			}
		}
		if _, _, ok := pass(c); !ok || len(c.built.added) != 2 {
			t.Fatalf("forget %v: ok %v, added %v; want both added", forget, ok, c.built.added)
		}
		c.rememberGood()
		whole := newLastGood()
		whole.remember(*c.built.snap, c.built.cfg, c.built.rejections, c.built.opts)
		if !maps.Equal(c.lastGood.ingresses, whole.ingresses) || len(whole.ingresses) != 2 {
			t.Errorf("forget %v: lastGood has %v, remembering the snapshot gives %v", forget, slices.Sorted(maps.Keys(c.lastGood.ingresses)), slices.Sorted(maps.Keys(whole.ingresses)))
		}
	}
}

// TestStatusAfterAddedIngresses: the snapshot of an added model holds the
// other Ingresses as the last full build read them, before their status
// was written; the status writer compares with the cached copies, so each
// sync writes the new Ingress's status alone.
func TestStatusAfterAddedIngresses(t *testing.T) {
	c, client := backgroundController(t)
	c.status = newStatusWriter(client, "", "198.18.99.1")
	c.status.cached = c.watcher.Ingress
	var mu sync.Mutex
	var written []string
	client.PrependReactor("update", "ingresses", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() == "status" {
			mu.Lock()
			written = append(written, action.(k8stesting.UpdateAction).GetObject().(*networkingv1.Ingress).Name)
			mu.Unlock()
		}
		return false, nil, nil
	})
	ctx := context.Background()
	hasStatus := func(name string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if ing, ok := c.watcher.Ingress("ns", name); ok && len(ing.Status.LoadBalancer.Ingress) > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no status in the cache", name)
			}
		}
	}
	if err := c.status.sync(ctx, c.built.live, c.built.cfg.Served, nil); err != nil {
		t.Fatal(err)
	}
	hasStatus("a")
	for _, name := range []string{"b", "c", "d"} {
		mu.Lock()
		written = nil
		mu.Unlock()
		if _, err := client.NetworkingV1().Ingresses("ns").Create(ctx, mt.Ingress("ns", name, mt.Rule(name+".example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNoted(t, c)
		snap, cfg, ok := pass(c)
		if !ok || len(c.built.added) == 0 {
			t.Fatalf("%s: not added to the last model", name)
		}
		var only []string // all of them, then the added one alone (publishAdded)
		if name == "d" {
			only = c.built.added
		}
		if err := c.status.sync(ctx, snap, cfg.Served, only); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := slices.Clone(written)
		mu.Unlock()
		if !slices.Equal(got, []string{name}) {
			t.Fatalf("after adding %s the status writer updated %v, want only %s", name, got, name)
		}
		hasStatus(name)
	}
}
