package controller

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/tools/record"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

func drain(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// A missing Secret is reported only once it stays missing for the grace
// period; one that appears meanwhile is never reported.
func TestMissingReferencesWaitForGrace(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	e := &events{recorder: rec, reported: map[string]bool{}, served: map[string]bool{}, missingSince: map[string]time.Time{}}
	ing := mt.Ingress("team", "web")
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}}
	missing := model.Rejection{Kind: "Ingress", Namespace: "team", Name: "web", Field: "spec.tls[0].secretName",
		Reason: "secret team/cert not found", Missing: true}
	broken := model.Rejection{Kind: "Ingress", Namespace: "team", Name: "web", Field: "spec.rules[0].host", Reason: "bad host"}
	t0 := time.Unix(1000, 0)

	if wait := e.rejections(snap, []model.Rejection{missing, broken}, t0); wait != missingGrace {
		t.Fatalf("recheck %v, want %v", wait, missingGrace)
	}
	got := drain(rec)
	if len(got) != 1 || !strings.Contains(got[0], "bad host") {
		t.Fatalf("events at once: %q", got)
	}
	if wait := e.rejections(snap, []model.Rejection{missing, broken}, t0.Add(3*time.Second)); wait != 2*time.Second {
		t.Fatalf("recheck after 3s: %v", wait)
	}
	if got := drain(rec); len(got) != 0 {
		t.Fatalf("events within the grace: %q", got)
	}
	if wait := e.rejections(snap, []model.Rejection{missing, broken}, t0.Add(missingGrace)); wait != 0 {
		t.Fatalf("recheck after the grace: %v", wait)
	}
	if got := drain(rec); len(got) != 1 || !strings.Contains(got[0], "not found") {
		t.Fatalf("events after the grace: %q", got)
	}
	// Gone and back: a new grace period, nothing reported meanwhile.
	e.rejections(snap, nil, t0.Add(10*time.Second))
	e.rejections(snap, []model.Rejection{missing}, t0.Add(11*time.Second))
	if got := drain(rec); len(got) != 0 {
		t.Fatalf("events for a reference missing again: %q", got)
	}
}

func TestRefusedIsCheckFailed(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	e := &events{recorder: rec, reported: map[string]bool{}, served: map[string]bool{}, missingSince: map[string]time.Time{}}
	ing := mt.Ingress("team", "web")
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}}
	e.rejections(snap, []model.Rejection{{Kind: "Ingress", Namespace: "team", Name: "web", Field: "spec", Reason: "refused", Refused: true}}, time.Now())
	if got := drain(rec); len(got) != 1 || !strings.Contains(got[0], ReasonCheckFailed) {
		t.Fatalf("events: %q", got)
	}
}
