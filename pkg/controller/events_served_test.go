package controller

import (
	"fmt"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
)

func ingresses(names ...string) ([]*networkingv1.Ingress, []string) {
	var ings []*networkingv1.Ingress
	var keys []string
	for _, n := range names {
		ings = append(ings, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n}})
		keys = append(keys, "ns/"+n)
	}
	slices.Sort(keys)
	return ings, keys
}

func TestServedEventsForgetDeletedIngresses(t *testing.T) {
	rec := record.NewFakeRecorder(100)
	e := &events{recorder: rec, reported: map[string]bool{}, served: map[string]bool{}}

	e.servedIngresses(ingresses("a", "b", "c"))
	if got := len(drain(rec)); got != 3 {
		t.Fatalf("first sync: %d Served events, want 3", got)
	}
	e.servedIngresses(ingresses("a", "b", "c"))
	if got := drain(rec); len(got) != 0 {
		t.Fatalf("second sync: %v, want no event", got)
	}

	// b is deleted: the index forgets it.
	e.servedIngresses(ingresses("a", "c"))
	if got := drain(rec); len(got) != 0 {
		t.Fatalf("after delete: %v, want no event", got)
	}
	if e.served["ns/b"] || len(e.served) != 2 {
		t.Fatalf("index after delete: %v, want ns/a and ns/c", e.served)
	}

	// b comes back under the same name: it is served anew.
	e.servedIngresses(ingresses("a", "b", "c"))
	if got := drain(rec); len(got) != 1 {
		t.Fatalf("after recreate: %v, want one Served event", got)
	}
}

// An Ingress that exists but is not served (rejected) is not remembered.
func TestServedEventsIndexFollowsServed(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	e := &events{recorder: rec, reported: map[string]bool{}, served: map[string]bool{}}
	ings, _ := ingresses("a", "b")
	e.servedIngresses(ings, []string{"ns/a", "ns/b"})
	e.servedIngresses(ings, []string{"ns/b"})
	if e.served["ns/a"] || !e.served["ns/b"] {
		t.Fatalf("index %v, want only ns/b", e.served)
	}
	drain(rec)
}

// Churn of Ingresses that come and go never grows the index.
func TestServedEventsIndexBounded(t *testing.T) {
	rec := record.NewFakeRecorder(1000)
	e := &events{recorder: rec, reported: map[string]bool{}, served: map[string]bool{}}
	for i := range 500 {
		e.servedIngresses(ingresses(fmt.Sprintf("keep-%d", i%3), fmt.Sprintf("churn-%d", i)))
		drain(rec)
	}
	if len(e.served) > 2 {
		t.Fatalf("index holds %d keys after churn, want at most 2", len(e.served))
	}
}

// servedAdded, for Ingresses added to a published model, reports what
// servedIngresses reports for the whole model: the added ones that are
// served, and that only once.
func TestServedAddedMatchesServedIngresses(t *testing.T) {
	whole := &events{recorder: record.NewFakeRecorder(100), reported: map[string]bool{}, served: map[string]bool{}}
	added := &events{recorder: record.NewFakeRecorder(100), reported: map[string]bool{}, served: map[string]bool{}}
	base, baseKeys := ingresses("a", "b")
	whole.servedIngresses(base, baseKeys)
	added.servedIngresses(base, baseKeys)
	drain(whole.recorder.(*record.FakeRecorder))
	drain(added.recorder.(*record.FakeRecorder))

	// c and d are added; d is not served (another class, say).
	all, _ := ingresses("a", "b", "c", "d")
	served := []string{"ns/a", "ns/b", "ns/c"}
	for range 2 { // the second time reports nothing
		whole.servedIngresses(all, served)
		added.servedAdded(all[2:], served)
		w, a := drain(whole.recorder.(*record.FakeRecorder)), drain(added.recorder.(*record.FakeRecorder))
		if !slices.Equal(w, a) {
			t.Errorf("events: servedAdded %v, servedIngresses %v", a, w)
		}
		if fmt.Sprint(whole.served) != fmt.Sprint(added.served) {
			t.Errorf("index: servedAdded %v, servedIngresses %v", added.served, whole.served)
		}
	}
}
