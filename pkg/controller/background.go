package controller

import (
	"errors"
	"sync"

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
	// hold, when set, runs before the build: tests block it to act while
	// a build runs.
	hold func()
}

// backgroundResult is a full build that finished off the loop.
type backgroundResult struct {
	in    fullInput
	build fullBuild
}

// errAwaitBuild ends a pass that has nothing to apply until the background
// build is done; the build wakes the loop. It is not a failure: the retry
// count of a failed pass is kept for the pass that adopts the build.
var errAwaitBuild = errors.New("waiting for the background build")

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

// startBackground reads the snapshot on the loop (the quarantine and the
// last good versions are the loop's) and builds the model from it in a
// goroutine, which wakes the loop when it is done.
func (c *Controller) startBackground() {
	c.changes.track() // before the snapshot: a slice change now is patched in again, harmlessly
	in := c.fullInput()
	good := c.lastGood.view()
	c.background.mu.Lock()
	c.background.running = true
	hold := c.background.hold
	c.background.mu.Unlock()
	go func() {
		if hold != nil {
			hold()
		}
		r := &backgroundResult{in: in, build: buildFrom(in, good)}
		c.background.mu.Lock()
		c.background.result = r
		c.background.mu.Unlock()
		c.queue.Add(syncKey)
	}()
}

// adoptBackground makes a finished background build the last model, with
// the slice changes since its snapshot patched in. It reports false when
// the result is out of date: a later full build started on the loop (its
// model is newer; what came after it is in the change log), or the
// quarantine or the last good versions changed (they were read before),
// or so many Services changed since that patching them costs more than a
// build.
func (c *Controller) adoptBackground(r *backgroundResult) (*model.Snapshot, *model.Config, bool) {
	since := c.changes.untrack()
	if r.in.gen != c.fullGen {
		c.log.Debug("background build out of date: a newer model was built", "gen", r.in.gen, "current", c.fullGen)
		return nil, nil, false
	}
	// The quarantine is compared by its count, not read again on the old
	// snapshot: that would forget refusals of versions newer than it.
	if r.in.refusals != c.quarantine.refusals || r.in.remembered != c.lastGood.changes || len(since) > maxPatchedServices {
		c.changes.markFull()
		c.log.Debug("background build out of date; building again", "services_changed_since", len(since))
		return nil, nil, false
	}
	built := c.finishFull(r.in, r.build)
	built.background = true
	if c.changes.hasPending() {
		c.queue.Add(syncKey) // changes the build predates, put back or noted meanwhile
	}
	if len(since) > 0 {
		snap, cfg := c.patchOnto(built, since)
		c.built.background = true
		return snap, cfg, true
	}
	return built.live, built.cfg, true
}

// modelForPass returns the model a pass of the apply loop applies, or
// errAwaitBuild when there is nothing to apply until a background build is
// done, or nil when there is nothing to apply at all.
func (c *Controller) modelForPass() (*model.Snapshot, *model.Config, error) {
	if r := c.background.take(); r != nil {
		if snap, cfg, ok := c.adoptBackground(r); ok {
			return snap, cfg, nil
		}
		if !c.changes.hasPending() {
			return nil, nil, errNothingToApply // the newer model is applied already
		}
	}
	p := c.changes.take()
	if len(p.ingresses) > 0 && c.builtIsFresh() && !c.background.isRunning() {
		// New Ingresses, perhaps: a running build's snapshot may hold
		// them already, and adopting it would not add them again.
		if snap, cfg, ok := c.addIngresses(c.built, p); ok {
			return snap, cfg, nil
		}
	}
	if !p.full && c.builtIsFresh() {
		snap, cfg := c.patchOnto(c.built, p.services)
		return snap, cfg, nil
	}
	if !c.wantsBackground() {
		snap, cfg := c.buildFull()
		return snap, cfg, nil
	}
	if !c.background.isRunning() {
		c.startBackground() // its snapshot holds what p noted
	} else if p.noted {
		c.changes.putBack(p) // the running build may predate it
	}
	if (p.patchable || !p.full) && len(p.services) > 0 {
		// The last model's Services are current: patching it is as right
		// as ever, for the time being (a stale one only by the build's
		// time).
		snap, cfg := c.patchOnto(c.built, p.services)
		return snap, cfg, nil
	}
	if c.running != nil && c.running.cfg != c.built.cfg && c.rememberedSnap == c.built.snap {
		// HAProxy is not known to run the last model, which it accepted
		// before (its state was read back after a restart or a failed
		// command): bring it in step now, not after the build. A model
		// it refused is not tried again: the build leaves the culprits out.
		return c.built.live, c.built.cfg, nil
	}
	return nil, nil, errAwaitBuild
}

// errNothingToApply ends a pass that found nothing to do.
var errNothingToApply = errors.New("nothing to apply")
