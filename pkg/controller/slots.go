package controller

import (
	"net/netip"

	"github.com/bollard-io/bollard/pkg/model"
)

// slotLayout is what a backend's server slots hold in the running HAProxy.
type slotLayout struct {
	slots []slot
	// freed lists slots emptied at run time, oldest first. They are reused
	// only after the never-used ones, so a freed slot stays unused as long
	// as possible before it takes a new address (make before break).
	freed []int
}

type slot struct {
	addr     netip.AddrPort // invalid when the slot is free
	draining bool
}

// slotChange is one server to update over the runtime API.
type slotChange struct {
	slot     int // 0-based
	addr     netip.AddrPort
	action   slotAction
	draining bool
}

type slotAction int

const (
	fillSlot   slotAction = iota // set addr, set weight, set state ready
	weightSlot                   // set weight (draining or serving again)
	emptySlot                    // set state maint
)

// layoutFor is the canonical layout a freshly rendered backend has: its
// endpoints in model order, then free slots.
func layoutFor(be *model.Backend) *slotLayout {
	l := &slotLayout{slots: make([]slot, be.Slots)}
	for i, ep := range be.Endpoints {
		if ep.Address.IsValid() {
			l.slots[i] = slot{addr: netip.AddrPortFrom(ep.Address, uint16(ep.Port)), draining: ep.Draining}
		}
	}
	return l
}

// plan computes the runtime changes that take the layout to the wanted
// endpoints, make before break: new endpoints fill free slots first, then
// removed ones are emptied. ok is false when there are not enough free
// slots; the layout is then unchanged and the backend needs a reload.
func (l *slotLayout) plan(wanted []model.Endpoint) (changes []slotChange, ok bool) {
	want := make(map[netip.AddrPort]bool, len(wanted)) // value: draining
	for _, ep := range wanted {
		want[netip.AddrPortFrom(ep.Address, uint16(ep.Port))] = ep.Draining
	}
	have := map[netip.AddrPort]int{}
	for i, s := range l.slots {
		if s.addr.IsValid() {
			have[s.addr] = i
		}
	}
	var adds []netip.AddrPort
	for _, ep := range wanted { // model order: deterministic
		ap := netip.AddrPortFrom(ep.Address, uint16(ep.Port))
		if i, ok := have[ap]; ok {
			if l.slots[i].draining != ep.Draining {
				changes = append(changes, slotChange{slot: i, addr: ap, action: weightSlot, draining: ep.Draining})
			}
			continue
		}
		if !ep.Draining { // a new endpoint that is already draining gets no slot
			adds = append(adds, ap)
		}
	}
	free := l.freeSlots()
	if len(adds) > len(free) {
		return nil, false
	}
	for i, ap := range adds {
		changes = append(changes, slotChange{slot: free[i], addr: ap, action: fillSlot})
	}
	for i, s := range l.slots {
		if _, keep := want[s.addr]; s.addr.IsValid() && !keep {
			changes = append(changes, slotChange{slot: i, addr: s.addr, action: emptySlot})
		}
	}
	return changes, true
}

// freeSlots lists free slots in the order to use them: never used (lowest
// first), then freed ones, longest freed first.
func (l *slotLayout) freeSlots() []int {
	wasFreed := map[int]bool{}
	for _, i := range l.freed {
		wasFreed[i] = true
	}
	var free []int
	for i, s := range l.slots {
		if !s.addr.IsValid() && !wasFreed[i] {
			free = append(free, i)
		}
	}
	for _, i := range l.freed {
		if !l.slots[i].addr.IsValid() {
			free = append(free, i)
		}
	}
	return free
}

// apply records changes that HAProxy accepted.
func (l *slotLayout) apply(changes []slotChange) {
	for _, c := range changes {
		switch c.action {
		case fillSlot:
			l.slots[c.slot] = slot{addr: c.addr}
			l.removeFreed(c.slot)
		case weightSlot:
			l.slots[c.slot].draining = c.draining
		case emptySlot:
			l.slots[c.slot] = slot{}
			l.removeFreed(c.slot)
			l.freed = append(l.freed, c.slot)
		}
	}
}

func (l *slotLayout) removeFreed(i int) {
	for j, f := range l.freed {
		if f == i {
			l.freed = append(l.freed[:j], l.freed[j+1:]...)
			return
		}
	}
}

// endpoints returns the layout as model endpoints, free slots as zero
// Endpoints, for rendering the config that matches the running HAProxy.
func (l *slotLayout) endpoints() []model.Endpoint {
	out := make([]model.Endpoint, len(l.slots))
	for i, s := range l.slots {
		if s.addr.IsValid() {
			out[i] = model.Endpoint{Address: s.addr.Addr(), Port: int32(s.addr.Port()), Draining: s.draining}
		}
	}
	// Trailing free slots are rendered by the server-template.
	end := len(out)
	for end > 0 && !out[end-1].Address.IsValid() {
		end--
	}
	return out[:end]
}
