package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// A kept Secret is served by its last good version, not by the default
// certificate: the Event must not say both.
func TestMarkKeptReplacesTheFallbackNote(t *testing.T) {
	rs := []model.Rejection{
		{Kind: "Ingress", Namespace: "ns", Name: "i", Field: "spec.tls[0].secretName",
			Reason: "secret ns/s: invalid certificate or key" + model.NoteHostsGetDefault},
		{Kind: "Secret", Namespace: "ns", Name: "s", Field: "data",
			Reason: "secret ns/s: invalid certificate or key" + model.NoteGeneratedInstead},
		{Kind: "Ingress", Namespace: "ns", Name: "other", Field: "spec.tls[0].secretName",
			Reason: "secret ns/t: invalid certificate or key" + model.NoteHostsGetDefault},
	}
	markKept(rs, []string{"Secret ns/s"})
	want := "secret ns/s: invalid certificate or key; the last good version keeps serving"
	for i := 0; i < 2; i++ {
		if rs[i].Reason != want {
			t.Errorf("rejection %d: %q, want %q", i, rs[i].Reason, want)
		}
	}
	if rs[2].Reason != "secret ns/t: invalid certificate or key"+model.NoteHostsGetDefault {
		t.Errorf("an unrelated rejection changed: %q", rs[2].Reason)
	}
}

// A Service whose update breaks an annotation keeps its last good version
// (and its options) serving; its routes do not turn to 503. A Service that
// was never good has no last good version.
func TestLastGoodService(t *testing.T) {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	snap := baseSnapshot(web)
	good := snap.Services[0].DeepCopy()
	good.ResourceVersion = "1"
	good.Annotations = map[string]string{"bollard.io/timeout-server": "5s"}
	snap.Services[0] = good
	cfg, rejections := model.Build(snap, opts)
	l := newLastGood()
	l.remember(snap, &cfg, rejections, opts)

	broken := good.DeepCopy()
	broken.ResourceVersion = "2"
	broken.Annotations["bollard.io/timeout-server"] = "5 seconds"
	snap.Services = []*corev1.Service{broken} // a new snapshot, as the informers give

	first, rejections := model.Build(snap, opts)
	if be, _ := first.Backend("ns_web_80"); len(be.Endpoints) != 0 {
		t.Fatalf("the broken Service still has endpoints: %+v", be.Endpoints)
	}
	fixed, kept := l.substitute(snap, &first, rejections, opts)
	if len(kept) != 1 || kept[0] != "Service ns/web" {
		t.Fatalf("kept %v, want the Service", kept)
	}
	cfg, _ = model.Build(fixed, opts)
	if be, _ := cfg.Backend("ns_web_80"); len(be.Endpoints) != 2 {
		t.Errorf("with the last good Service: endpoints %+v, want 2", be.Endpoints)
	}
	if len(cfg.Maps.ServerTimeouts) != 1 || cfg.Maps.ServerTimeouts[0].Value != "5000" {
		t.Errorf("the last good Service's timeout-server is not applied: %+v", cfg.Maps.ServerTimeouts)
	}
	markKept(rejections, kept)
	for _, r := range rejections {
		if strings.Contains(r.Reason, model.NoteServiceAnswers503) {
			t.Errorf("a rejection still says the routes answer 503: %+v", r)
		}
	}

	if _, kept := newLastGood().substitute(snap, &first, rejections, opts); len(kept) != 0 {
		t.Errorf("a Service never seen good was replaced: %v", kept)
	}
}

// TestLastGoodViewStaysAsTaken: a background build reads a view while the
// loop goes on; forget and remember must not change what it reads.
func TestLastGoodViewStaysAsTaken(t *testing.T) {
	l := newLastGood()
	l.ingresses["ns/a"] = &networkingv1.Ingress{}
	view := l.view()
	l.forget("ns/a")
	if _, ok := view.ingresses["ns/a"]; !ok {
		t.Error("forget changed a view taken before it")
	}
	if _, ok := l.ingresses["ns/a"]; ok {
		t.Error("forget left the Ingress")
	}
	if l.changes != 1 {
		t.Errorf("changes = %d after one forget, want 1", l.changes)
	}
}
