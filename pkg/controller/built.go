package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bollard-io/bollard/pkg/model"
)

// buildModel runs the model on the current caches: a patch of the last
// model when only EndpointSlices changed since it was built, else a full
// build.
func (c *Controller) buildModel() (*model.Snapshot, *model.Config) {
	if snap, cfg, ok := c.patchModel(); ok {
		return snap, cfg
	}
	return c.buildFull()
}

// buildFull builds the model from the whole snapshot. An Ingress or TLS
// Secret that an update broke is replaced by its last good version, and
// the rejection says so.
func (c *Controller) buildFull() (*model.Snapshot, *model.Config) {
	in := c.fullInput()
	built := c.finishFull(in, buildFrom(in, c.lastGood))
	return built.live, built.cfg
}

// fullInput is what a full build reads: the snapshot and the options,
// with the Ingresses in quarantine. Taking it starts a new generation, so
// a background build that started earlier is not adopted any more.
type fullInput struct {
	snap  model.Snapshot
	opts  model.Options
	start time.Time
	// gen is c.fullGen, refusals the quarantine's and remembered
	// lastGood's counts when taken.
	gen, refusals, remembered uint64
}

func (c *Controller) fullInput() fullInput {
	start := time.Now()
	c.secretReads.begin()
	snap := c.watcher.Snapshot()
	opts := c.modelOptions()
	opts.Refused = c.quarantine.current(&snap)
	c.metrics.refused.Set(float64(len(opts.Refused)))
	c.fullGen++
	return fullInput{snap: snap, opts: opts, start: start, gen: c.fullGen,
		refusals: c.quarantine.refusals, remembered: c.lastGood.changes}
}

// fullBuild is the pure part of a full build.
type fullBuild struct {
	// snap is the snapshot the model was built from: in.snap, or a copy
	// with last good versions in place of broken objects (kept).
	snap       *model.Snapshot
	opts       model.Options
	cfg        model.Config
	rejections []model.Rejection // cfg's own
	reported   []model.Rejection // those of in.snap, which Events report
	reads      model.SecretReads
	kept       []string
	took       time.Duration
}

// buildFrom builds the model of in, and builds it again with the last good
// versions of the objects good remembers when some are broken now. It
// only reads good, which must not change meanwhile.
func buildFrom(in fullInput, good *lastGood) fullBuild {
	cfg, rejections, reads := model.BuildReads(in.snap, in.opts)
	b := fullBuild{snap: &in.snap, opts: in.opts, cfg: cfg, rejections: rejections, reported: rejections, reads: reads}
	if fixed, kept := good.substitute(in.snap, &cfg, rejections, in.opts); len(kept) > 0 {
		markKept(rejections, kept)
		// A refused Ingress replaced by its last good version: that
		// version was accepted, it is not refused.
		b.opts.Refused = withoutKept(in.opts.Refused, kept)
		b.cfg, b.rejections, b.reads = model.BuildReads(fixed, b.opts)
		b.snap, b.kept = &fixed, kept
	}
	b.took = time.Since(in.start)
	return b
}

// finishFull is the part of a full build that reads and writes the apply
// loop's own state: Events, metrics, the Secrets the model reads. It makes
// the result the last model built.
func (c *Controller) finishFull(in fullInput, b fullBuild) *builtModel {
	live := &in.snap
	if len(b.kept) > 0 {
		c.log.Warn("kept last good versions of broken objects", "objects", b.kept)
	}
	built := &builtModel{live: live, snap: b.snap, cfg: &b.cfg, opts: b.opts, kept: b.kept,
		rejections: b.rejections, reported: b.reported, reads: b.reads, builtAt: in.start}
	built.service("") // index the Services now: the first patch would pay for it
	c.built = built
	c.lastFullTook = b.took
	c.publishSecretReads(built)
	c.metrics.modelDuration.WithLabelValues(modelFull).Observe(b.took.Seconds())
	c.reportRejections(built)
	return built
}

// reportRejections sends the Warning Events of the model's rejections.
func (c *Controller) reportRejections(b *builtModel) {
	c.metrics.rejected.Set(float64(len(b.reported)))
	if recheck := c.events.rejections(b.live, b.reported, time.Now()); recheck > 0 {
		c.queue.AddAfter(syncKey, recheck) // report what is still missing then
	}
}

// builtModel is a model and what it was built from: the live snapshot, the
// snapshot after last good versions replaced broken objects, and the
// options (with the refused Ingresses).
type builtModel struct {
	live, snap *model.Snapshot
	cfg        *model.Config
	opts       model.Options
	kept       []string
	// rejections are cfg's own (after the substitutions); reported are
	// those of the live snapshot, which Events report.
	rejections, reported []model.Rejection
	// reads are the Secrets cfg's Build looked up.
	reads model.SecretReads
	// services indexes snap's Services for patches (builtModel.service).
	services *map[string]*corev1.Service
	// base is the model this one was patched from (nil: a full build),
	// and patched the backends whose endpoints the patch changed. The
	// snapshots' EndpointSlices are base's: only Events and the checks of
	// a reload read them, and a reload builds the model in full.
	base    *model.Config
	patched []string
	// added are the Ingresses model.AddIngress took in on base, last in
	// live.Ingresses, and from the snapshot base was built from: the
	// routing maps changed too.
	added []string
	from  *model.Snapshot
	// addedTo is the live snapshot of the model they were added to.
	addedTo *model.Snapshot
	// builtAt is when the full build (this one or the base's) started.
	builtAt time.Time
	// background: the full build ran off the apply loop (background.go).
	background bool
}

// rememberGood records the last model built as accepted by HAProxy (a
// runtime update or a reload took it): its objects are the last good ones.
func (c *Controller) rememberGood() {
	b := c.built
	if b == nil || (b.base != nil && c.rememberedSnap == b.snap) {
		return // a patch changes no object lastGood keeps
	}
	if len(b.added) > 0 && c.rememberedSnap == b.from && c.lastGood.changes == c.rememberedChanges {
		// What lastGood holds is b.from's: only the added Ingresses are new.
		c.lastGood.rememberAdded(b.live.Ingresses[len(b.live.Ingresses)-len(b.added):], b.cfg)
	} else {
		c.lastGood.remember(*b.snap, b.cfg, b.rejections, b.opts)
	}
	c.rememberedSnap, c.rememberedChanges = b.snap, c.lastGood.changes
}

func (c *Controller) modelOptions() model.Options {
	opts := c.opts.Model
	opts.Now = time.Now()
	return opts
}
