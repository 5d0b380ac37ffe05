package controller

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// On the real HAProxy in HAPROXY_BIN: a new Service's backend is created at
// run time and serves (3.4+), a later controller adopts that HAProxy from
// the files of the wanted config (the structure hash was recorded), and the
// backend is deleted again once the Service goes. Other versions plan a
// reload instead.
func TestRuntimeBackendLifecycle(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a, b := haproxytest.NewBackend(t, "A"), haproxytest.NewBackend(t, "B")
	mopts := loopbackModelOptions(t)
	web := mt.Ingress("ns", "web", mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))
	api := mt.Ingress("ns", "api", mt.Rule("api.test", mt.Path("Prefix", "/", "api", 80)))
	snapshot := func(ingresses ...*networkingv1.Ingress) model.Snapshot {
		return model.Snapshot{
			Ingresses: ingresses,
			Services:  []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80)), mt.Service("ns", "api", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{
				mt.Slice("ns", "web", "web-1", "http", a.Port, mt.Ready(a.Host)),
				mt.Slice("ns", "api", "api-1", "http", b.Port, mt.Ready(b.Host)),
			},
		}
	}
	loaded, _ := model.Build(snapshot(web), mopts)
	wanted, _ := model.Build(snapshot(web, api), mopts)
	loadedFiles, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	wantedFiles, err := render.Render(&wanted, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, loadedFiles, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := c.runtime.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	features := haproxy.FeaturesFor(version)
	c.running, c.loadedHash = newRunning(&loaded), configHashOf(loadedFiles)

	u := c.running.diff(&wanted, c, features)
	if !features.RuntimeBackends {
		if !strings.HasPrefix(u.reload, "new backend ns_api_80") {
			t.Errorf("HAProxy %s: a new Service must reload, got %q", version, u.reload)
		}
		return
	}
	if u.reload != "" {
		t.Fatalf("HAProxy %s: want a runtime update, got reload %q", version, u.reload)
	}
	if err := c.runtime.Execute(ctx, u.commands...); err != nil {
		t.Fatalf("%v\n%s", err, commandLines(u))
	}
	c.running.applied(u, &wanted)
	if resp := haproxytest.Get(t, inst.HTTP, "api.test", "/"); resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "B ") {
		t.Fatalf("http://api.test/: %d %q, want 200 from B", resp.Status, resp.Body)
	}

	// Until the hash is recorded, HAProxy's sections are not those of the
	// wanted files for a later controller; after it they are.
	if _, err := c.readBack(ctx, &wanted, wantedFiles); err == nil {
		t.Error("read-back accepted the wanted files before the structure hash was recorded")
	}
	c.markStructure(ctx, wantedFiles, &wanted)
	later := socketController(t, ropts)
	r, err := later.readBack(ctx, &wanted, wantedFiles)
	if err != nil {
		t.Fatalf("adopting the HAProxy with the runtime backend: %v", err)
	}
	if rest := r.diff(&wanted, later, features); rest.reload != "" || len(rest.commands) != 0 {
		t.Errorf("adopted state differs: reload %q, commands:\n%s", rest.reload, commandLines(rest))
	}

	// The Service goes: unpublished with the map change, deleted once its
	// server has no connection left.
	u = c.running.diff(&loaded, c, features)
	if u.reload != "" {
		t.Fatalf("removing the Service: reload %q", u.reload)
	}
	if err := c.runtime.Execute(ctx, u.commands...); err != nil {
		t.Fatal(err)
	}
	c.running.applied(u, &loaded)
	c.written, c.onDisk = loadedFiles, &loaded
	if resp := haproxytest.Get(t, inst.HTTP, "api.test", "/"); resp.Status != http.StatusNotFound {
		t.Errorf("http://api.test/ after the removal: %d, want 404", resp.Status)
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.collectBackends(ctx) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the retired backend was not deleted within 20 s")
		}
		time.Sleep(collectEvery)
	}
	backends, err := c.runtime.Backends(ctx)
	if err != nil || slices.Contains(backends, "ns_api_80") || !slices.Contains(backends, "ns_web_80") {
		t.Errorf("backends after the deletion: %v, %v", backends, err)
	}
	if _, err := later.readBack(ctx, &loaded, loadedFiles); err != nil {
		t.Errorf("after the deletion the files of the loaded config no longer describe HAProxy: %v", err)
	}
	if resp := haproxytest.Get(t, inst.HTTP, "web.test", "/"); resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "A ") {
		t.Errorf("http://web.test/: %d %q, want 200 from A", resp.Status, resp.Body)
	}
}
