package controller

import (
	"testing"

	"github.com/bollard-io/bollard/pkg/model"
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
