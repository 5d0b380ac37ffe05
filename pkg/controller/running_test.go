package controller

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

type relRefs struct{}

func (relRefs) mapRef(rel string) string  { return rel }
func (relRefs) certRef(rel string) string { return rel }
func (relRefs) crtListRef() string        { return "certs/crt-list.txt" }

func build(t *testing.T, snap model.Snapshot) *model.Config {
	t.Helper()
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	cfg, _ := model.Build(snap, opts)
	return &cfg
}

func commandLines(u *update) string {
	var lines []string
	for _, c := range u.commands {
		lines = append(lines, c.String())
	}
	return strings.Join(lines, "\n")
}

func baseSnapshot(ingresses ...*networkingv1.Ingress) model.Snapshot {
	return model.Snapshot{
		Ingresses: ingresses,
		Services:  []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
		EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", 8080,
			mt.Ready("198.18.0.10"), mt.Ready("198.18.0.11"))},
	}
}

func TestDiffEndpointsAndRoutesAtRunTime(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	r := newRunning(build(t, baseSnapshot(web)))

	// Swap .11 for .12 and add a host to the same Service.
	snap := baseSnapshot(web, mt.Ingress("ns", "more", mt.Rule("more.example", mt.Path("Exact", "/x", "web", 80))))
	snap.EndpointSlices[0] = mt.Slice("ns", "web", "web-1", "http", 8080, mt.Ready("198.18.0.10"), mt.Ready("198.18.0.12"))
	u := r.diff(build(t, snap), relRefs{}, haproxy.Features{})
	if u.reload != "" {
		t.Fatalf("want a runtime update, got reload %q", u.reload)
	}
	want := strings.Join([]string{
		"set server ns_web_80/slot3 addr 198.18.0.12 port 8080",
		"set server ns_web_80/slot3 weight 1",
		"show servers state ns_web_80", // waits for the address
		"set server ns_web_80/slot3 state ready",
		"add map maps/hosts.map more.example more.example",
		"add map maps/paths-exact.map more.example/x ns_web_80",
		"set server ns_web_80/slot2 state maint",
	}, "\n")
	if got := commandLines(u); got != want {
		t.Errorf("commands:\n%s\nwant (make before break: fill, route, then empty):\n%s", got, want)
	}
}

func TestDiffStructuralChanges(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	r := newRunning(build(t, baseSnapshot(web)))

	other := baseSnapshot(web, mt.Ingress("ns", "api", mt.Rule("api.example", mt.Path("Prefix", "/", "api", 80))))
	if u := r.diff(build(t, other), relRefs{}, haproxy.Features{}); !strings.HasPrefix(u.reload, "new backend ns_api_80") {
		t.Errorf("a new Service must reload, got %q", u.reload)
	}
	many := baseSnapshot(web)
	var eps []mt.Endpoint
	for _, a := range []string{"10", "11", "12", "13", "14", "15", "16", "17", "18"} {
		eps = append(eps, mt.Ready("198.18.0."+a))
	}
	many.EndpointSlices[0] = mt.Slice("ns", "web", "web-1", "http", 8080, eps...)
	if u := r.diff(build(t, many), relRefs{}, haproxy.Features{}); !strings.Contains(u.reload, "needs more than its 8 slots") {
		t.Errorf("running out of slots must reload, got %q", u.reload)
	}
	same := r.diff(build(t, baseSnapshot(web)), relRefs{}, haproxy.Features{})
	if same.reload != "" || len(same.commands) != 0 {
		t.Errorf("no change must do nothing, got %q %v", same.reload, same.commands)
	}
}

func TestDiffNewCertificateAtRunTime(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"secure.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	r := newRunning(build(t, baseSnapshot(web)))
	snap := baseSnapshot(web, mt.Ingress("ns", "secure", mt.TLS("tls", "secure.example"),
		mt.Rule("secure.example", mt.Path("Prefix", "/", "web", 80))))
	snap.Secrets = append(snap.Secrets, mt.TLSSecret("ns", "tls", pair.CertPEM, pair.KeyPEM))
	u := r.diff(build(t, snap), relRefs{}, haproxy.Features{})
	got := commandLines(u)
	for _, want := range []string{
		"new ssl cert certs/ns_tls.pem",
		"set ssl cert certs/ns_tls.pem << <<PEM>>",
		"commit ssl cert certs/ns_tls.pem",
		"add map maps/redirects.map secure.example https",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if u.reload != "" {
		t.Errorf("a new TLS host on an existing Service needs no reload, got %q", u.reload)
	}
}

// A route with an auth policy joins a backend that already checks its
// userlist: the policy entries are added before the route, and removed
// after it, so no request reaches the route without the check.
func TestDiffPolicyBeforeRoute(t *testing.T) {
	users := mt.AuthSecret("ns", "users", "alice:"+mt.HashSHA512)
	auth := func(name, path string) *networkingv1.Ingress {
		return mt.Ingress("ns", name, mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", "users"),
			mt.Rule("web.example", mt.Path("Exact", path, "web", 80)))
	}
	before := baseSnapshot(auth("a", "/a"))
	before.AuthSecrets = []*corev1.Secret{users}
	after := baseSnapshot(auth("a", "/a"), auth("b", "/b"))
	after.AuthSecrets = before.AuthSecrets
	r := newRunning(build(t, before))
	u := r.diff(build(t, after), relRefs{}, haproxy.Features{})
	if u.reload != "" {
		t.Fatalf("want a runtime update, got reload %q", u.reload)
	}
	got := commandLines(u)
	auth1, route := strings.Index(got, "add map maps/policy-auth.map ns/b "), strings.Index(got, "add map maps/paths-exact.map web.example/b ")
	if auth1 < 0 || route < 0 || auth1 > route || strings.Index(got, "add map maps/policy-exact.map web.example/b ns/b") > route {
		t.Errorf("commands:\n%s\nwant the policy entries before the route", got)
	}
	r = newRunning(build(t, after))
	u = r.diff(build(t, before), relRefs{}, haproxy.Features{})
	got = commandLines(u)
	auth1, route = strings.Index(got, "del map maps/policy-auth.map ns/b"), strings.Index(got, "del map maps/paths-exact.map web.example/b")
	if u.reload != "" || auth1 < 0 || route < 0 || auth1 < route {
		t.Errorf("reload %q, commands:\n%s\nwant the route deleted before the policy entries", u.reload, got)
	}
}

// TestEntryChangesMergeMatchesMaps: the one-walk merge of sorted map
// entries finds what the comparison by maps finds, for random lists.
func TestEntryChangesMergeMatchesMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	list := func() []model.MapEntry {
		var out []model.MapEntry
		for k := range 12 {
			if rng.IntN(2) == 0 {
				out = append(out, model.MapEntry{Key: fmt.Sprintf("k%02d", k), Value: fmt.Sprint(rng.IntN(2))})
			}
		}
		return out
	}
	for step := range 2000 {
		have, want := list(), list()
		changed, gone, inHave := entryChanges(have, want)
		wantChanged, wantGone, wantInHave := entryChangesByMap(have, want)
		if !reflect.DeepEqual(changed, wantChanged) || !reflect.DeepEqual(gone, wantGone) || !reflect.DeepEqual(inHave, wantInHave) {
			t.Fatalf("step %d: have %v want %v:\nmerge %v %v %v\nmaps  %v %v %v", step, have, want, changed, gone, inHave, wantChanged, wantGone, wantInHave)
		}
	}
}
