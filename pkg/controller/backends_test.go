package controller

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/haproxy"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

func versionFeatures(t *testing.T, version string) haproxy.Features {
	t.Helper()
	v, err := haproxy.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	return haproxy.FeaturesFor(v)
}

// On 3.4 a new Service's backend is created, filled and published before
// the map routes to it, and deleted after the map stops routing to it.
// Older versions and versions Bollard does not know reload instead.
func TestDiffRuntimeBackends(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	api := mt.Ingress("ns", "api", mt.Rule("api.example", mt.Path("Prefix", "/", "api", 80)))
	withAPI := baseSnapshot(web, api)
	withAPI.Services = append(withAPI.Services, mt.Service("ns", "api", mt.ServicePort("http", 80)))
	withAPI.EndpointSlices = append(withAPI.EndpointSlices, mt.Slice("ns", "api", "api-1", "http", 9090,
		mt.Ready("198.18.0.20"), mt.Endpoint{Address: "198.18.0.21", Serving: true, Terminating: true}))

	for _, version := range []string{"2.6.12", "3.0.11", "3.2.26", "3.5.0"} {
		r := newRunning(build(t, baseSnapshot(web)))
		if u := r.diff(build(t, withAPI), relRefs{}, versionFeatures(t, version)); !strings.HasPrefix(u.reload, "new backend ns_api_80") {
			t.Errorf("%s: a new Service must reload, got %q %v", version, u.reload, u.commands)
		}
	}

	features := versionFeatures(t, "3.4.7-1")
	r := newRunning(build(t, baseSnapshot(web)))
	wanted := build(t, withAPI)
	u := r.diff(wanted, relRefs{}, features)
	if u.reload != "" {
		t.Fatalf("want a runtime update, got reload %q", u.reload)
	}
	lines := []string{
		"add backend ns_api_80 from bollard-backend mode http",
		"add server ns_api_80/slot1 198.18.0.20:9090",
		"set server ns_api_80/slot1 state ready",
		"add server ns_api_80/slot2 198.18.0.21:9090 weight 0",
		"set server ns_api_80/slot2 state ready",
	}
	for i := 3; i <= 8; i++ {
		lines = append(lines, "add server ns_api_80/slot"+strconv.Itoa(i)+" 0.0.0.0:1")
	}
	lines = append(lines,
		"publish backend ns_api_80",
		"add map maps/hosts.map api.example api.example",
		"add map maps/paths-prefix.map api.example/ ns_api_80")
	if got, want := commandLines(u), strings.Join(lines, "\n"); got != want {
		t.Errorf("commands:\n%s\nwant (create, fill, publish, then route):\n%s", got, want)
	}
	r.applied(u, wanted)
	if !r.sameStructure(wanted) {
		t.Error("after the runtime update HAProxy's backends differ from the wanted config's")
	}
	if again := r.diff(wanted, relRefs{}, features); again.reload != "" || len(again.commands) != 0 {
		t.Errorf("applied update planned again: %q %v", again.reload, commandLines(again))
	}

	// The api Ingress and Service go: route away, then unpublish; the
	// deletion waits for collectBackends.
	back := build(t, baseSnapshot(web))
	u = r.diff(back, relRefs{}, features)
	want := strings.Join([]string{
		// Deletions go in reverse map order: the path before its host.
		"del map maps/paths-prefix.map api.example/",
		"del map maps/hosts.map api.example",
		"unpublish backend ns_api_80",
	}, "\n")
	if got := commandLines(u); u.reload != "" || got != want {
		t.Errorf("reload %q, commands:\n%s\nwant:\n%s", u.reload, got, want)
	}
	r.applied(u, back)
	if _, ok := r.layouts["ns_api_80"]; ok || !r.retiring["ns_api_80"] || r.sameStructure(back) {
		t.Errorf("retired backend: layouts %v, retiring %v", r.layouts, r.retiring)
	}
	// Wanted again before HAProxy deleted it: a reload, not a second add.
	if u := r.diff(wanted, relRefs{}, features); !strings.Contains(u.reload, "being deleted") {
		t.Errorf("a backend wanted again while retiring: %q", u.reload)
	}
	delete(r.retiring, "ns_api_80")
	if !r.sameStructure(back) {
		t.Error("after the deletion HAProxy's backends differ from the wanted config's")
	}
}

// Every cause but the unset zero value has a label of its own, and the
// diff gives the typed cause with its reason.
func TestReloadCauses(t *testing.T) {
	if l := causeUnset.label(); l != "unknown" {
		t.Errorf("the unset cause is labelled %q, want unknown", l)
	}
	seen := map[string]reloadCause{}
	for c := causeUnset + 1; c < numCauses; c++ {
		l := c.label()
		if l == "unknown" || l == "" {
			t.Errorf("cause %d has no label", c)
		}
		if other, dup := seen[l]; dup {
			t.Errorf("causes %d and %d share label %q", other, c, l)
		}
		seen[l] = c
	}
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	api := mt.Ingress("ns", "api", mt.Rule("api.example", mt.Path("Prefix", "/", "api", 80)))
	r := newRunning(build(t, baseSnapshot(web)))
	if u := r.diff(build(t, baseSnapshot(web, api)), relRefs{}, versionFeatures(t, "2.6.12")); u.cause != causeNewBackend || u.cause.label() != "new_backend" {
		t.Errorf("a new Service: cause %v (%q), reason %q", u.cause, u.cause.label(), u.reload)
	}
	many := baseSnapshot(web)
	var eps []mt.Endpoint
	for i := 10; i < 19; i++ {
		eps = append(eps, mt.Ready("198.18.0."+strconv.Itoa(i)))
	}
	many.EndpointSlices[0] = mt.Slice("ns", "web", "web-1", "http", 8080, eps...)
	if u := r.diff(build(t, many), relRefs{}, haproxy.Features{}); u.cause != causeSlots {
		t.Errorf("out of slots: cause %q, reason %q", u.cause.label(), u.reload)
	}
	r.retiring["ns_api_80"] = true
	if u := r.diff(build(t, baseSnapshot(web, api)), relRefs{}, versionFeatures(t, "3.4.7")); u.cause != causeBackendRetiring {
		t.Errorf("a retiring backend wanted again: cause %q, reason %q", u.cause.label(), u.reload)
	}
}

// On 3.4 a new backend with options is loaded by a reload: `add backend`
// and `add server` would create it without them.
func TestNewBackendWithOptionsReloadsOn34(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	api := mt.Ingress("ns", "api", mt.Rule("api.example", mt.Path("Prefix", "/", "api", 80)))
	mt.Annotation("bollard.io/backend-protocol", "GRPC")(api)
	withAPI := baseSnapshot(web, api)
	withAPI.Services = append(withAPI.Services, mt.Service("ns", "api", mt.ServicePort("http", 80)))
	features := versionFeatures(t, "3.4.7-1")
	r := newRunning(build(t, baseSnapshot(web)))
	u := r.diff(build(t, withAPI), relRefs{}, features)
	if u.cause != causeNewBackend || len(u.created) != 0 {
		t.Errorf("a new backend with backend-protocol GRPC: cause %q, created %d, reason %q; want a new_backend reload", u.cause.label(), len(u.created), u.reload)
	}
	// Only per-request options (maps): created at run time.
	mt.Annotation("bollard.io/backend-protocol", "HTTP")(api)
	mt.Annotation("bollard.io/timeout-server", "5s")(api)
	u = r.diff(build(t, withAPI), relRefs{}, features)
	if u.reload != "" || len(u.created) != 1 || !strings.Contains(commandLines(u), "add map maps/timeout-server.map ns_api_80 5000") {
		t.Errorf("a new backend with timeout-server only: reload %q, created %d, commands:\n%s", u.reload, len(u.created), commandLines(u))
	}
}
