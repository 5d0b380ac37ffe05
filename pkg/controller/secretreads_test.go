package controller

import (
	"slices"
	"testing"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// readsOf builds a model whose Ingresses name the TLS Secrets secrets.
func readsOf(t *testing.T, secrets ...string) model.SecretReads {
	t.Helper()
	var snap model.Snapshot
	for _, s := range secrets {
		snap.Ingresses = append(snap.Ingresses, mt.Ingress("ns", "ing-"+s, mt.TLS(s, s+".example"),
			mt.Rule(s+".example", mt.Path("Prefix", "/", "svc", 80))))
	}
	_, _, reads := model.BuildReads(snap, model.DefaultOptions())
	for _, s := range secrets {
		if !reads.Has("ns/" + s) {
			t.Fatalf("the model did not read ns/%s", s)
		}
	}
	return reads
}

func TestSecretReads(t *testing.T) {
	var r secretReads
	if !r.read("ns/any") {
		t.Error("before the first model every Secret must be read")
	}
	if got := r.publish(readsOf(t, "a"), nil); len(got) != 0 {
		t.Errorf("nothing was skipped, got %v", got)
	}
	if !r.read("ns/a") || r.read("ns/b") || r.read("other/a") {
		t.Error("reads must follow the last model")
	}
	// Skipped while a model is built: the snapshot may predate the change,
	// so the new model's reads decide whether it wakes the loop again.
	r.begin()
	if r.read("ns/b") || r.read("ns/c") {
		t.Error("ns/b and ns/c are not read by the last model")
	}
	if got := r.publish(readsOf(t, "a", "b"), nil); !slices.Equal(got, []string{"ns/b"}) {
		t.Errorf("missed reads %v, want [ns/b]", got)
	}
	// Outside a build nothing is kept.
	r.read("ns/d")
	if got := r.publish(readsOf(t, "d"), nil); len(got) != 0 {
		t.Errorf("missed reads %v outside a build", got)
	}
	// The Secrets of a refused Ingress's namespace stay read: a change
	// releases it from quarantine.
	r.publish(readsOf(t), map[string]string{"team/web": "refused"})
	if !r.read("team/tls") || r.read("ns/d") {
		t.Error("refused namespaces' Secrets must be read, the others not")
	}
}

// TestSecretReadsConcurrent: informer goroutines ask while the apply loop
// publishes (run with -race); a Secret the new model reads that was
// skipped during its build is never lost.
func TestSecretReadsConcurrent(t *testing.T) {
	var r secretReads
	none, withB := readsOf(t), readsOf(t, "b")
	r.publish(none, nil)
	for range 50 {
		r.begin()
		done := make(chan bool)
		go func() { done <- r.read("ns/b") }()
		missed := r.publish(withB, nil)
		if woke := <-done; !woke && !slices.Equal(missed, []string{"ns/b"}) {
			t.Fatalf("ns/b was skipped and not handed back (missed %v)", missed)
		}
		r.publish(none, nil)
	}
}
