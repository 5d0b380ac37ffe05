package controller

import (
	"context"
	"net/netip"
	"slices"
	"time"

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
		u.needReload(causeNewBackend, "new backend "+be.Name+" (not expressible at run time)")
		return
	}
	cmd, err := haproxy.AddBackend(be.Name, render.BackendDefaultsName)
	u.add("backend", cmd, err)
	spare := netip.IPv4Unspecified()
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

// planRetiredBackends unpublishes the backends HAProxy holds and wanted
// has not, in name order, after the map changes that stop routing to them.
// Deleting them waits for collectBackends: HAProxy deletes only servers
// without connections, and idle keep-alive connections to a server stay
// for seconds after its last request.
func (r *running) planRetiredBackends(u *update, wanted *model.Config) {
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
		u.retired = append(u.retired, name)
	}
}

// sameStructure reports whether the running HAProxy holds exactly the
// backends and slot counts of cfg, so that its sections are those of cfg's
// render (the diff reloads for any other structural difference).
func (r *running) sameStructure(cfg *model.Config) bool {
	if len(r.layouts) != len(cfg.Backends) || len(r.retiring) > 0 {
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

// collectBackends deletes the retired backends that no connection holds any
// more: each server in maintenance and deleted, then the backend. One that
// still has connections is left for the next call; it returns how many
// backends are left.
func (c *Controller) collectBackends(ctx context.Context) int {
	r := c.running
	if r == nil {
		return 0
	}
	names := make([]string, 0, len(r.retiring))
	for name := range r.retiring {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := c.deleteBackend(ctx, name); err != nil {
			c.log.Debug("retired backend not deleted yet", "backend", name, "err", err)
			continue
		}
		delete(r.retiring, name)
		c.log.Info("deleted backend", "backend", name)
	}
	if written, onDisk := c.writtenFiles(); len(r.retiring) == 0 && written != nil && onDisk != nil {
		c.markStructure(ctx, written, onDisk)
	}
	return len(r.retiring)
}

// deleteBackend deletes what is left of a retired backend (a failed
// earlier attempt may have deleted some servers).
func (c *Controller) deleteBackend(ctx context.Context, name string) error {
	states, err := c.runtime.ServersState(ctx, name)
	if err != nil {
		return err
	}
	var cmds []haproxy.Command
	for _, st := range states {
		cmd, err := haproxy.SetServerState(name, st.Name, haproxy.StateMaint)
		if err != nil {
			return err
		}
		del, err := haproxy.DelServer(name, st.Name)
		if err != nil {
			return err
		}
		cmds = append(cmds, cmd, del)
	}
	del, err := haproxy.DelBackend(name)
	if err != nil {
		return err
	}
	return c.runtime.Execute(ctx, append(cmds, del)...)
}

// collectKey asks the apply loop to delete retired backends only.
const collectKey = "collect"

// collectEvery is how often retired backends are tried again.
const collectEvery = time.Second
