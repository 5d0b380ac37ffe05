package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// heldBuilds makes the background builds of c wait until released.
type heldBuilds struct {
	started chan struct{}
	release chan struct{}
}

func holdBuilds(c *Controller) *heldBuilds {
	h := &heldBuilds{started: make(chan struct{}, 4), release: make(chan struct{}, 4)}
	c.background.hold = func() {
		h.started <- struct{}{}
		<-h.release
	}
	return h
}

// fullBuildOnly gives an Ingress an annotation: model.AddIngress declines
// it, and the model is built in full.
var fullBuildOnly = mt.Annotation(model.AnnotationPrefix+"ssl-redirect", "false")

// backgroundController is a Controller on a fake clientset whose full
// builds all go to the background once it has a model (unit level: no
// HAProxy, the passes' models are looked at directly).
func backgroundController(t *testing.T) (*Controller, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(
		mt.Service("ns", "web", mt.ServicePort("http", 80)),
		mt.Slice("ns", "web", "web-1", "http", 8080, mt.Ready("198.18.30.1")),
		mt.Ingress("ns", "a", mt.Rule("a.example", mt.Path("Prefix", "/", "web", "http"))),
	)
	c, err := New(client, Options{Mode: ModeManaged, Model: model.DefaultOptions(), BackgroundBuildAfter: time.Nanosecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ev, stop := newEvents(client, "bollard")
	t.Cleanup(stop)
	c.events = ev
	if err := c.watcher.Start(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c.buildFull()
	c.running = newRunning(c.built.cfg) // HAProxy runs the model
	c.rememberGood()                    // and accepted it
	c.written = []render.File{}         // files on disk: the loop may go on without a full model
	c.changes.take()
	return c, client
}

// heldFullBuild returns a backgroundController whose full build, asked
// for by a pass, runs in the background and is held.
func heldFullBuild(t *testing.T) (*Controller, *heldBuilds) {
	t.Helper()
	c, _ := backgroundController(t)
	held := holdBuilds(c)
	c.changes.markFull()
	if _, _, ok := pass(c); ok {
		t.Fatal("want a background build")
	}
	<-held.started
	return c, held
}

// waitNoted waits until the informers noted a change.
func waitNoted(t *testing.T, c *Controller) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !c.changes.hasPending(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change was not noted")
		}
	}
}

func addresses(cfg *model.Config, backend string) []netip.Addr {
	be, _ := cfg.Backend(backend)
	if be == nil {
		return nil
	}
	var out []netip.Addr
	for _, ep := range be.Endpoints {
		out = append(out, ep.Address)
	}
	return out
}

func served(cfg *model.Config, host string) bool {
	for _, e := range cfg.Maps.Hosts {
		if e.Key == host {
			return true
		}
	}
	return false
}

// TestBackgroundBuildLetsPatchesThrough: while a full build for a new
// Ingress runs off the loop, an endpoint change is patched into the last
// model at once; the adopted build serves the new host with the endpoints
// changed after its snapshot patched in.
func TestBackgroundBuildLetsPatchesThrough(t *testing.T) {
	c, client := backgroundController(t)
	held := holdBuilds(c)
	ctx := context.Background()
	ings := client.NetworkingV1().Ingresses("ns")
	if _, err := ings.Create(ctx, mt.Ingress("ns", "b", fullBuildOnly, mt.Rule("b.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, _, ok := pass(c); ok {
		t.Fatal("an Ingress change at scale: want the full build in the background and nothing to apply yet")
	}
	<-held.started

	slice := mt.Slice("ns", "web", "web-1", "http", 8080, mt.Ready("198.18.30.1"), mt.Ready("198.18.30.2"))
	if _, err := client.DiscoveryV1().EndpointSlices("ns").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	_, cfg, ok := pass(c)
	if !ok || len(addresses(cfg, "ns_web_http")) != 2 {
		t.Fatalf("a slice change during the build: ok %v, endpoints %v; want it patched at once", ok, addresses(cfg, "ns_web_http"))
	}
	if served(cfg, "b.example") || c.built.base == nil {
		t.Fatal("the patch is not the full build: b.example is not served yet")
	}

	// An Ingress noted while the build runs waits for a build of its own.
	if _, err := ings.Create(ctx, mt.Ingress("ns", "c", fullBuildOnly, mt.Rule("c.example", mt.Path("Prefix", "/", "web", "http"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNoted(t, c)
	if _, _, ok := pass(c); ok {
		t.Fatal("nothing to apply while the build runs and only an Ingress changed")
	}

	held.release <- struct{}{}
	_, cfg, ok = waitAdopted(t, c)
	if !ok || !served(cfg, "b.example") || len(addresses(cfg, "ns_web_http")) != 2 {
		t.Fatalf("adopted: ok %v, b served %v, endpoints %v; want the new host and the patched endpoints",
			ok, served(cfg, "b.example"), addresses(cfg, "ns_web_http"))
	}
	if !c.built.background {
		t.Error("the adopted model is not marked as a background build (model_path)")
	}
	if !c.changes.hasPending() {
		t.Fatal("the Ingress noted during the build was not put back")
	}
	if _, _, ok := pass(c); ok {
		t.Fatal("the put-back change: want another background build")
	}
	<-held.started
	held.release <- struct{}{}
	if _, cfg, _ = waitAdopted(t, c); !served(cfg, "c.example") {
		t.Error("the second build does not serve c.example")
	}
}

// TestBackgroundBuildOutOfDate: a background build is not adopted when a
// full build started on the loop after it (that model is newer: nothing
// more to do), or when the quarantine or the last good versions changed
// meanwhile (it read them before: a new build starts).
func TestBackgroundBuildOutOfDate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(c *Controller)
		rebuilds bool
	}{
		{"a later full build", func(c *Controller) {
			_, cfg := c.buildFull() // in a pass that applied it
			c.running.cfg = cfg
			c.rememberGood()
		}, false},
		{"the quarantine changed", func(c *Controller) {
			c.quarantine.refuse(c.built.live, []string{"ns/a"}, "refused by a test")
		}, true},
		{"the last good versions changed", func(c *Controller) { c.lastGood.forget("ns/a") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, held := heldFullBuild(t)
			tc.change(c)
			before := c.built
			held.release <- struct{}{}
			waitResult(t, c)
			_, _, err := c.modelForPass()
			if err == nil || c.built != before {
				t.Fatal("an out-of-date build was adopted")
			}
			if !tc.rebuilds {
				if !errors.Is(err, errNothingToApply) || c.background.isRunning() {
					t.Fatalf("err %v, a build running %v; want nothing more to do", err, c.background.isRunning())
				}
				return
			}
			if !errors.Is(err, errAwaitBuild) {
				t.Fatalf("err %v, want a new build awaited", err)
			}
			<-held.started // the new build
			held.release <- struct{}{}
			_, cfg, ok := waitAdopted(t, c)
			if !ok {
				t.Fatal("the new build was not adopted")
			}
			if _, refused := c.built.opts.Refused["ns/a"]; refused == served(cfg, "a.example") {
				t.Errorf("refused %v but a.example served %v", refused, served(cfg, "a.example"))
			}
		})
	}
}

// pass is one pass of the loop up to its model, which it takes as applied
// (sync brings HAProxy in step with it).
func pass(c *Controller) (*model.Snapshot, *model.Config, bool) {
	snap, cfg, err := c.modelForPass()
	if err == nil {
		c.running.cfg = cfg
	}
	return snap, cfg, err == nil
}

func waitResult(t *testing.T, c *Controller) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.background.mu.Lock()
		done := c.background.result != nil
		c.background.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the background build did not finish")
		}
	}
}

func waitAdopted(t *testing.T, c *Controller) (*model.Snapshot, *model.Config, bool) {
	t.Helper()
	waitResult(t, c)
	return pass(c)
}

// TestBackgroundBuildAfterResync: when HAProxy's state was read back (a
// restart) while a build runs, the pass brings HAProxy in step with the
// last model at once instead of waiting for the build; but not with a
// model HAProxy refused (an isolation just left its culprits out).
func TestBackgroundBuildAfterResync(t *testing.T) {
	for _, accepted := range []bool{true, false} {
		t.Run(fmt.Sprintf("accepted=%v", accepted), func(t *testing.T) {
			c, _ := backgroundController(t)
			held := holdBuilds(c)
			if !accepted {
				c.buildFull() // a model that the reload's check refused: never remembered
			}
			c.changes.markFull()
			c.running = newRunning(&model.Config{}) // read back: HAProxy lost the runtime changes
			last := c.built
			_, cfg, err := c.modelForPass()
			ok := err == nil
			<-held.started
			if ok != accepted || (ok && cfg != last.cfg) {
				t.Fatalf("after a read-back: ok %v, the last model %v; want the last model again at once only when HAProxy accepted it",
					ok, cfg == last.cfg)
			}
			held.release <- struct{}{}
			if _, cfg, ok := waitAdopted(t, c); !ok || cfg == last.cfg {
				t.Error("the build was not adopted")
			}
		})
	}
}

// TestBackgroundBuildKeepsRetryCount: a retry of a failed pass that only
// starts a background build neither fails nor succeeds: the retry count
// (the back-off of the next failure) stays.
func TestBackgroundBuildKeepsRetryCount(t *testing.T) {
	c, _ := backgroundController(t)
	held := holdBuilds(c)
	for range 3 {
		c.queue.AddRateLimited(syncKey) // three failed passes in a row
	}
	if !c.processNext(context.Background()) {
		t.Fatal("the queue shut down")
	}
	<-held.started
	if n := c.queue.NumRequeues(syncKey); n != 3 {
		t.Errorf("retry count %d after a pass that started a build, want 3", n)
	}
	held.release <- struct{}{}
	waitResult(t, c)
}

// TestBackgroundBuildEmptyPass: a pass that found nothing noted while a
// build runs (a retry, a timer) leaves nothing for after it: the build
// looks at everything.
func TestBackgroundBuildEmptyPass(t *testing.T) {
	c, held := heldFullBuild(t)
	if _, _, err := c.modelForPass(); !errors.Is(err, errAwaitBuild) {
		t.Fatalf("an empty pass while the build runs: %v, want it awaited", err)
	}
	held.release <- struct{}{}
	if _, _, ok := waitAdopted(t, c); !ok {
		t.Fatal("the build was not adopted")
	}
	if c.changes.hasPending() {
		t.Error("a full build is pending after the adoption although nothing changed")
	}
}
