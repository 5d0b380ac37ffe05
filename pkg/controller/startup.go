package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// startup applies the first config. In managed mode it starts HAProxy,
// unless one already answers on the master socket (the controller
// restarted): that one is adopted, as in external mode.
func (c *Controller) startup(ctx context.Context) error {
	_, cfg := c.buildModel()
	files, err := c.renderFiles(cfg)
	if err != nil {
		return err
	}
	masterSocket := filepath.Join(c.opts.Render.RuntimeDir, render.MasterSocket)
	if c.opts.Mode == ModeManaged {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		alive := c.master.Ping(pingCtx) == nil
		cancel()
		if !alive {
			return c.startManaged(ctx, cfg, files, masterSocket)
		}
		c.log.Info("adopting the HAProxy already running", "master", masterSocket)
	} else {
		c.log.Info("waiting for HAProxy's master socket", "path", masterSocket)
		if err := haproxy.WaitForSocket(ctx, masterSocket); err != nil {
			return fmt.Errorf("wait for %s: %w", masterSocket, err)
		}
	}
	return c.adopt(ctx, cfg, files)
}

func (c *Controller) startManaged(ctx context.Context, cfg *model.Config, files []render.File, masterSocket string) error {
	cfg, files, err := c.untilAccepted(cfg, files, func(cfg *model.Config, files []render.File) error {
		_, err := c.checkAccepted(ctx, files, cfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("first config: %w", err)
	}
	if err := c.write(files, cfg); err != nil {
		return err
	}
	sup, err := haproxy.StartSupervisor(ctx, c.supervisorOptions(masterSocket))
	if err != nil {
		return fmt.Errorf("start haproxy: %w", err)
	}
	c.supervisor.Store(sup)
	c.detectFeatures(ctx)
	c.running = newRunning(cfg)
	c.loadedHash = configHashOf(files)
	c.rememberGood()
	if err := c.markEpoch(ctx); err != nil {
		c.log.Warn("could not mark the started HAProxy; its state will be read back", "err", err)
	}
	c.metrics.lastApply.SetToCurrentTime()
	return nil
}

func (c *Controller) supervisorOptions(masterSocket string) haproxy.SupervisorOptions {
	return haproxy.SupervisorOptions{
		Binary:       c.opts.HAProxyBinary,
		ConfigFile:   filepath.Join(c.opts.ConfigDir, render.ConfigFile),
		MasterSocket: masterSocket,
		Logger:       c.log,
	}
}

// adopt takes over a running HAProxy. When the config on disk is already
// the wanted one there is no reload: the slot layout is read back from
// HAProxy, since runtime changes moved endpoints between slots.
func (c *Controller) adopt(ctx context.Context, cfg *model.Config, files []render.File) error {
	if !haproxy.SameFiles(c.opts.ConfigDir, files) {
		c.log.Info("config on disk differs from the wanted one; reloading")
		return c.startupReload(ctx, cfg, files)
	}
	// The files on disk may be newer than what HAProxy loaded (the last
	// controller died before its reload), and slots, maps and certificates
	// moved at run time: readBack checks the one and reads the others.
	r, err := c.readBack(ctx, cfg, files)
	if err != nil {
		c.log.Warn("cannot take over the running HAProxy as it is; reloading", "err", err)
		return c.startupReload(ctx, cfg, files)
	}
	c.filesMu.Lock()
	c.written, c.onDisk = files, cfg
	c.filesMu.Unlock()
	c.running = r
	c.rememberGood()
	c.log.Info("adopted HAProxy with no reload", "backends", len(cfg.Backends), "certificates", len(r.cfg.Certificates))
	c.metrics.lastApply.SetToCurrentTime()
	c.queue.Add(syncKey) // apply whatever differs at run time
	return nil
}

// startupReload reloads the adopted HAProxy with the wanted config,
// leaving out the Ingresses it refuses.
func (c *Controller) startupReload(ctx context.Context, cfg *model.Config, files []render.File) error {
	_, _, err := c.untilAccepted(cfg, files, func(cfg *model.Config, files []render.File) error {
		return c.reload(ctx, causeStartup, "startup", files, cfg)
	})
	if err == nil {
		c.rememberGood()
	}
	return err
}

// layoutFromState rebuilds a slot layout from `show servers state`.
func layoutFromState(states []haproxy.ServerStatus, minSlots int) *slotLayout {
	l := &slotLayout{}
	for _, st := range states {
		n := slotNumber(st.Name)
		if n < 1 {
			continue
		}
		for len(l.slots) < n {
			l.slots = append(l.slots, slot{})
		}
		if st.Serving() && st.Addr.IsValid() && !st.Addr.IsUnspecified() {
			l.slots[n-1] = slot{addr: st.AddrPort(), draining: st.Weight == 0}
		}
	}
	for len(l.slots) < minSlots {
		l.slots = append(l.slots, slot{})
	}
	return l
}

func slotNumber(server string) int {
	n := 0
	if len(server) <= len(render.SlotPrefix) || server[:len(render.SlotPrefix)] != render.SlotPrefix {
		return 0
	}
	for _, ch := range server[len(render.SlotPrefix):] {
		if ch < '0' || ch > '9' {
			return 0
		}
		n = n*10 + int(ch-'0')
	}
	return n
}

// watchRestarts resets the running state when the supervisor restarted a
// crashed HAProxy: the new one loaded the files on disk.
func (c *Controller) watchRestarts(ctx context.Context, sup *haproxy.Supervisor) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sup.Started():
			c.log.Warn("HAProxy was restarted; re-applying state")
			c.queue.Add(restartKey)
		}
	}
}

// restartKey asks the apply loop to treat HAProxy as freshly started.
const restartKey = "restart"
