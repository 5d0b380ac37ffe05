package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// The epoch marker tells the controller whether the running HAProxy is the
// one its runtime state describes. It is a map entry that exists only at
// run time (on disk maps/epoch.map holds only the structure hash): any load
// of the files — a restarted container, a crashed master, a reload by
// someone else — drops it. This works in managed and external mode alike, and does not depend
// on PIDs, which a restarted container reuses.

// epochKey is the marker's key in render.EpochMap.
const epochKey = "bollard-epoch"

// verifyEvery is how often an idle controller checks the marker, so that a
// restart is noticed without waiting for the next change.
const verifyEvery = 2 * time.Second

// verifyKey asks the apply loop to check the marker only.
const verifyKey = "verify"

func newEpochToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}

// epochHeld reports whether HAProxy still holds this controller's marker.
func (c *Controller) epochHeld(ctx context.Context) (bool, error) {
	v, found, err := c.runtime.MapValue(ctx, c.mapRef(render.EpochMap), epochKey)
	if err != nil {
		return false, fmt.Errorf("read epoch marker: %w", err)
	}
	return found && v == c.epoch, nil
}

// markEpoch puts the marker into the running HAProxy; call it right after
// the controller's own start, reload or resynchronisation.
func (c *Controller) markEpoch(ctx context.Context) error {
	ref := c.mapRef(render.EpochMap)
	v, found, err := c.runtime.MapValue(ctx, ref, epochKey)
	if err != nil {
		return fmt.Errorf("read epoch marker: %w", err)
	}
	var cmd haproxy.Command
	switch {
	case found && v == c.epoch:
		return nil
	case found: // an earlier controller's marker
		cmd, err = haproxy.SetMap(ref, epochKey, c.epoch)
	default:
		cmd, err = haproxy.AddMap(ref, epochKey, c.epoch)
	}
	if err != nil {
		return err
	}
	if err := c.runtime.Execute(ctx, cmd); err != nil {
		return fmt.Errorf("set epoch marker: %w", err)
	}
	return nil
}

// configHashOf is the structure hash that files carry in maps/epoch.map,
// "" without one.
func configHashOf(files []render.File) string {
	for _, f := range files {
		if f.Path == render.EpochMap {
			for _, line := range strings.Split(string(f.Data), "\n") {
				if v, ok := strings.CutPrefix(line, render.ConfigHashKey+" "); ok {
					return v
				}
			}
		}
	}
	return ""
}

// readBack takes over the running HAProxy as it is: it checks that
// HAProxy loaded the structure of files (the render of structure; nil:
// unknown), reads its runtime state back on top of structure, and marks
// it.
func (c *Controller) readBack(ctx context.Context, structure *model.Config, files []render.File) (*running, error) {
	c.detectFeatures(ctx) // a restarted HAProxy may be another version
	// HAProxy's own copy of maps/epoch.map says what it loaded; a hash that
	// either side lacks (files of an older Bollard) leaves it to the
	// read-back.
	loaded, found, err := c.runtime.MapValue(ctx, c.mapRef(render.EpochMap), render.ConfigHashKey)
	if err != nil {
		return nil, fmt.Errorf("read the loaded config's hash: %w", err)
	}
	if want := configHashOf(files); found && want != "" && loaded != want {
		return nil, errors.New("HAProxy loaded another haproxy.cfg than the one on disk")
	}
	c.loadedHash = loaded
	r, err := c.readRunning(ctx, structure)
	if err != nil {
		return nil, err
	}
	if err := c.markEpoch(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// resync reads the running state back from HAProxy, whose files are the
// render of onDisk. When that fails the state is unknown: the next sync
// reloads from files.
func (c *Controller) resync(ctx context.Context, why string) {
	written, structure := c.writtenFiles()
	if structure == nil && c.running != nil {
		structure = c.running.cfg
	}
	if structure == nil {
		return // nothing applied yet: startup handles it
	}
	r, err := c.readBack(ctx, structure, written)
	if err != nil {
		c.log.Warn("cannot read HAProxy's state back; reloading from files", "why", why, "err", err)
		c.running = newRunning(structure)
		c.forceReload, c.forceCause = reloadResyncFailed, causeResyncFailed
		return
	}
	c.running = r
	c.forceReload = "" // HAProxy's state is known again
	c.metrics.resyncs.Inc()
	c.log.Info("read HAProxy's state back", "why", why, "backends", len(r.layouts),
		"certificates", len(r.cfg.Certificates), "store_only", len(r.storeOnly))
}

// verifyEpoch resynchronises when HAProxy lost the marker. It returns
// whether it did.
func (c *Controller) verifyEpoch(ctx context.Context) (bool, error) {
	held, err := c.epochHeld(ctx)
	if err != nil || held {
		return false, err
	}
	c.log.Warn("HAProxy loaded its files again (restart or foreign reload); reading its state back")
	c.resync(ctx, "epoch marker gone")
	return true, nil
}

// tickVerify queues a marker check every verifyEvery until ctx ends.
func (c *Controller) tickVerify(ctx context.Context) {
	t := time.NewTicker(verifyEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.queue.Add(verifyKey)
		}
	}
}
