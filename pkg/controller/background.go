package controller

import (
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
)

// A full build at 10k Ingresses takes 60-300 ms; endpoint patches that
// queued behind it waited as long. Once a full build has taken longer than
// Options.BackgroundBuildAfter, the next ones run off the apply loop: the
// loop keeps patching endpoints into the last model meanwhile, then adopts
// the build's result and patches into it the Services whose slices changed
// after its snapshot was read.

// backgroundBuild holds the full build running off the loop, at most one.
type backgroundBuild struct {
	mu      sync.Mutex
	running bool // from start until the loop takes the result
	result  *backgroundResult
	// build is model.BuildReads; tests hold it to act while it runs.
	build func(model.Snapshot, model.Options) (model.Config, []model.Rejection, model.SecretReads)
}

// backgroundResult is a full build that finished off the loop.
type backgroundResult struct {
	in         fullInput
	cfg        model.Config
	rejections []model.Rejection
	reads      model.SecretReads
	took       time.Duration
}

func (b *backgroundBuild) isRunning() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running
}

// take returns a finished build, nil when there is none.
func (b *backgroundBuild) take() *backgroundResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.result
	if r != nil {
		b.result, b.running = nil, false
	}
	return r
}

// wantsBackground reports whether the full build a pass needs goes off the
// loop: the last one was slow, and the loop has a model and written files
// to go on with meanwhile. A forced reload needs its model at once.
func (c *Controller) wantsBackground() bool {
	after := c.opts.BackgroundBuildAfter
	return after > 0 && c.lastFullTook >= after && c.built != nil && c.forceReload == "" && c.hasWritten()
}

// startBackground reads the snapshot on the loop (the quarantine is the
// loop's) and builds the model from it in a goroutine, which wakes the
// loop when it is done.
func (c *Controller) startBackground() {
	c.changes.track() // before the snapshot: a slice change now is patched in again, harmlessly
	in := c.fullInput()
	c.background.mu.Lock()
	c.background.running = true
	c.background.mu.Unlock()
	go func() {
		build := c.background.build
		if build == nil {
			build = model.BuildReads
		}
		cfg, rejections, reads := build(in.snap, in.opts)
		r := &backgroundResult{in: in, cfg: cfg, rejections: rejections, reads: reads, took: time.Since(in.start)}
		c.background.mu.Lock()
		c.background.result = r
		c.background.mu.Unlock()
		c.queue.Add(syncKey)
	}()
}

// adoptBackground makes a finished background build the last model, with
// the slice changes since its snapshot patched in. It reports false when
// the result is out of date: a later full build started on the loop, or
// the quarantine changed (it was built with the old one).
func (c *Controller) adoptBackground(r *backgroundResult) (*model.Snapshot, *model.Config, bool) {
	since := c.changes.untrack()
	// The quarantine is compared by its count, not read again on the old
	// snapshot: that would forget refusals of versions newer than it.
	if r.in.gen != c.fullGen || r.in.refusals != c.quarantine.refusals {
		c.changes.markFull()
		c.log.Debug("background build out of date; building again", "gen", r.in.gen, "current", c.fullGen)
		return nil, nil, false
	}
	built := c.finishFull(r.in, &r.cfg, r.rejections, r.reads, r.took)
	built.background = true
	if c.changes.hasPending() {
		c.queue.Add(syncKey) // changes the build predates, put back or noted meanwhile
	}
	if len(since) > 0 {
		snap, cfg, _ := c.patchOnto(built, since)
		c.built.background = true
		return snap, cfg, true
	}
	return built.live, built.cfg, true
}

// modelForPass returns the model a pass of the apply loop applies. ok is
// false when there is nothing to apply until a background build is done.
func (c *Controller) modelForPass() (*model.Snapshot, *model.Config, bool) {
	if r := c.background.take(); r != nil {
		if snap, cfg, ok := c.adoptBackground(r); ok {
			return snap, cfg, true
		}
	}
	p := c.changes.take()
	stale := c.built == nil || time.Since(c.built.builtAt) > maxPatchAge
	if !p.full && !stale {
		return c.patchOnto(c.built, p.services)
	}
	if !c.wantsBackground() {
		snap, cfg := c.buildFull()
		return snap, cfg, true
	}
	if !c.background.isRunning() {
		c.startBackground() // its snapshot holds what p noted
	} else if p.full {
		c.changes.putBack(p) // the running build may predate it
	}
	if (p.patchable || !p.full) && len(p.services) > 0 {
		// The last model's Services are current: patching it is as right
		// as ever, for the time being (a stale one only by the build's
		// time).
		return c.patchOnto(c.built, p.services)
	}
	return nil, nil, false
}
