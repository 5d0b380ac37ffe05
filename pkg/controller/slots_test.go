package controller

import (
	"net/netip"
	"testing"

	"github.com/bollard-io/bollard/pkg/model"
)

func ep(s string, draining bool) model.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return model.Endpoint{Address: ap.Addr(), Port: int32(ap.Port()), Draining: draining}
}

func TestSlotPlanMakeBeforeBreak(t *testing.T) {
	l := layoutFor(&model.Backend{Slots: 4, Endpoints: []model.Endpoint{ep("198.18.0.1:80", false), ep("198.18.0.2:80", false)}})
	// Swap .2 for .3: fill a free slot first, then empty the old one.
	changes, ok := l.plan([]model.Endpoint{ep("198.18.0.1:80", false), ep("198.18.0.3:80", false)})
	if !ok || len(changes) != 2 {
		t.Fatalf("plan = %+v, %v", changes, ok)
	}
	if changes[0].action != fillSlot || changes[0].slot != 2 || changes[1].action != emptySlot || changes[1].slot != 1 {
		t.Errorf("want fill slot 2 then empty slot 1, got %+v", changes)
	}
	l.apply(changes)
	// The freed slot 1 is used only after the never-used slot 3.
	changes, ok = l.plan([]model.Endpoint{ep("198.18.0.1:80", false), ep("198.18.0.3:80", false), ep("198.18.0.4:80", false), ep("198.18.0.5:80", false)})
	if !ok || changes[0].slot != 3 || changes[1].slot != 1 {
		t.Errorf("want never-used slot 3 before freed slot 1, got %+v", changes)
	}
	l.apply(changes)
	// Full: one more endpoint needs a reload, and the layout is untouched.
	before := len(l.endpoints())
	if _, ok := l.plan(append(l.endpoints(), ep("198.18.0.6:80", false))); ok {
		t.Errorf("a full backend must ask for a reload")
	}
	if len(l.endpoints()) != before {
		t.Errorf("a failed plan must not change the layout")
	}
}

func TestSlotPlanDrainAndRender(t *testing.T) {
	l := layoutFor(&model.Backend{Slots: 4, Endpoints: []model.Endpoint{ep("198.18.0.1:80", false), ep("198.18.0.2:80", false)}})
	changes, ok := l.plan([]model.Endpoint{ep("198.18.0.1:80", true), ep("198.18.0.2:80", false), ep("198.18.0.9:80", true)})
	if !ok || len(changes) != 1 || changes[0].action != weightSlot || !changes[0].draining {
		t.Fatalf("a terminating endpoint drains; a new draining one gets no slot: %+v", changes)
	}
	l.apply(changes)
	changes, _ = l.plan([]model.Endpoint{ep("198.18.0.2:80", false)})
	l.apply(changes)
	got := l.endpoints()
	if len(got) != 2 || got[0].Address.IsValid() || got[1].Address.String() != "198.18.0.2" {
		t.Errorf("layout keeps slot positions with a hole: %+v", got)
	}
	if changes, ok := l.plan([]model.Endpoint{ep("198.18.0.2:80", false)}); !ok || len(changes) != 0 {
		t.Errorf("no change must plan nothing, got %+v", changes)
	}
}
