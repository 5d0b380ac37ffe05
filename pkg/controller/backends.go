package controller

import (
	"net/netip"
	"slices"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// Backends created and deleted over the runtime API (HAProxy 3.4+). A new
// backend is made from the defaults section the config declares, its
// slots added as the render would write them, then published before any
// map entry routes to it; a backend no longer wanted is deleted after the
// map changes that stop routing to it. Make before break, as for slots.

// planNewBackend adds the commands that create be in the running HAProxy,
// or sets u.reload when the runtime cannot express it.
func planNewBackend(u *update, be *model.Backend) {
	if !render.RuntimeCreatable(be) {
		u.reload = "new backend " + be.Name + " (not expressible at run time)"
		return
	}
	cmd, err := haproxy.AddBackend(be.Name, render.DefaultsName)
	u.add("backend", cmd, err)
	spare := netip.MustParseAddr("0.0.0.0")
	for i := range be.Slots {
		server := render.SlotName(i + 1)
		var ep model.Endpoint
		if i < len(be.Endpoints) {
			ep = be.Endpoints[i]
		}
		if !ep.Address.IsValid() { // a free slot, disabled as the render's
			cmd, err = haproxy.AddServer(be.Name, server, spare, 1, false)
			u.add("backend", cmd, err)
			continue
		}
		cmd, err = haproxy.AddServer(be.Name, server, ep.Address, uint16(ep.Port), ep.Draining)
		u.add("backend", cmd, err)
		cmd, err = haproxy.SetServerState(be.Name, server, haproxy.StateReady)
		u.add("backend", cmd, err)
	}
	cmd, err = haproxy.PublishBackend(be.Name)
	u.add("backend", cmd, err)
	u.created = append(u.created, be)
}

// planDeletedBackends adds the commands that delete the backends HAProxy
// holds and wanted has not, in name order.
func (r *running) planDeletedBackends(u *update, wanted *model.Config) {
	keep := make(map[string]bool, len(wanted.Backends))
	for i := range wanted.Backends {
		keep[wanted.Backends[i].Name] = true
	}
	var gone []string
	for name := range r.layouts {
		if !keep[name] {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		cmd, err := haproxy.UnpublishBackend(name)
		u.add("backend", cmd, err)
		// HAProxy deletes only servers in maintenance without connections;
		// one that still has some fails the batch, and a reload follows.
		for i := range r.layouts[name].slots {
			server := render.SlotName(i + 1)
			cmd, err = haproxy.SetServerState(name, server, haproxy.StateMaint)
			u.add("backend", cmd, err)
			cmd, err = haproxy.DelServer(name, server)
			u.add("backend", cmd, err)
		}
		cmd, err = haproxy.DelBackend(name)
		u.add("backend", cmd, err)
		u.deleted = append(u.deleted, name)
	}
}

// sameStructure reports whether the running HAProxy holds exactly the
// backends and slot counts of cfg, so that its sections are those of cfg's
// render (the diff reloads for any other structural difference).
func (r *running) sameStructure(cfg *model.Config) bool {
	if len(r.layouts) != len(cfg.Backends) {
		return false
	}
	for i := range cfg.Backends {
		l, ok := r.layouts[cfg.Backends[i].Name]
		if !ok || len(l.slots) != cfg.Backends[i].Slots {
			return false
		}
	}
	return true
}
