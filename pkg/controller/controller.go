// Package controller drives Bollard: informers feed a debounced work queue,
// and one apply loop builds the model, renders it and brings HAProxy in step,
// over the runtime API when it can and by a validated reload when it must.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/watch"
)

// HAProxy modes.
const (
	ModeManaged  = "managed"
	ModeExternal = "external"
)

// Options configure a Controller.
type Options struct {
	Model         model.Options
	Render        render.Options
	ConfigDir     string
	Mode          string
	HAProxyBinary string
	SyncDebounce  time.Duration
	// BackgroundBuildAfter: once a full model build took at least this
	// long, full builds run off the apply loop (background.go); 0 never.
	BackgroundBuildAfter time.Duration
	// Status publishing.
	PublishService string
	PublishAddress string
	// Leader election (status is written by the leader only).
	LeaderElect       bool
	ElectionID        string
	ElectionNamespace string
	Identity          string
	// Endpoints for probes and metrics ("" disables).
	HealthAddress  string
	MetricsAddress string
	Logger         *slog.Logger
	// GatewayClient, when set, turns the Gateway API on: the controller
	// watches its objects (Model.GatewayControllerName names the class)
	// and writes their status.
	GatewayClient gatewayclient.Interface
}

const syncKey = "sync"

// Controller keeps one HAProxy in step with the cluster.
type Controller struct {
	opts    Options
	client  kubernetes.Interface
	log     *slog.Logger
	watcher *watch.Watcher
	queue   workqueue.TypedRateLimitingInterface[string]
	metrics *metrics
	events  *events
	status  *statusWriter
	// statusQueue feeds status to its own goroutine, off the apply loop.
	statusQueue *statusQueue
	// gatewayStatus writes the Gateway API status; nil when it is off.
	gatewayStatus *gatewayStatusWriter

	master  *haproxy.Master
	runtime *haproxy.Runtime
	// supervisor runs HAProxy in managed mode; nil until then, and for an
	// adopted HAProxy until watchAdopted has to start a new one.
	supervisor atomic.Pointer[haproxy.Supervisor]

	// Owned by the apply loop.
	renderer *render.Renderer
	running  *running
	// files writes the config dir off the loop after runtime updates
	// (files.go); filesMu guards the config dir and the three fields below.
	files   *fileWriter
	filesMu sync.Mutex
	written []render.File // what the config dir holds, when known
	// onDisk is the config whose render the config dir holds: what a
	// restarted HAProxy loads. It lags the running config while the
	// config dir cannot be written, and while the file writer waits.
	onDisk *model.Config
	// filesGen counts the loop's own writes (fileWriter.offer).
	filesGen uint64
	lastGood *lastGood
	// quarantine leaves out the Ingresses HAProxy refused.
	quarantine *quarantine
	// verifier checks the files of runtime structural changes (verify.go);
	// verifying is true while files it has not passed are on disk.
	verifier  *verifier
	verifying bool
	// built is the last model built and what it was built from.
	built *builtModel
	// fullGen counts full builds started; lastFullTook is how long the
	// last one took; background is the one running off the loop.
	fullGen      uint64
	lastFullTook time.Duration
	background   backgroundBuild
	// changes is what changed since built (changes.go).
	changes *changeLog
	// rememberedSnap is the snapshot lastGood last remembered;
	// publishedSnap the one whose status was last published, and
	// publishedLeader whether this replica led then.
	rememberedSnap *model.Snapshot
	// rememberedChanges is lastGood.changes after that: a forget since
	// makes the next remember a whole one.
	rememberedChanges uint64
	publishedSnap     *model.Snapshot
	publishedLeader   bool
	// epoch is this controller's marker in maps/epoch.map (epoch.go).
	epoch string
	// forceReload, when set, is why the next sync must reload (the running
	// state could not be read back, or written files failed haproxy -c);
	// forceCause is the same, typed.
	forceReload string
	forceCause  reloadCause
	// features is what the running HAProxy's version allows (features.go);
	// featuresRead is false until its version was read.
	features      haproxy.Features
	featuresRead  bool
	versionUnread bool // the last attempt to read it failed (logged once)
	// loadedHash is the config hash in HAProxy's copy of maps/epoch.map:
	// the structure of the files it loaded, or that its runtime changes
	// made it equal to.
	loadedHash string

	ready  atomic.Bool
	leader atomic.Bool
	// pendingSince is when the oldest change not yet synced arrived (Unix
	// ns), to log how long changes wait for the apply loop.
	pendingSince atomic.Int64
	// secretReads tells the informers which Secrets the model reads.
	secretReads secretReads
}

// New builds a Controller; Run starts it.
func New(client kubernetes.Interface, opts Options) (*Controller, error) {
	if opts.Mode != ModeManaged && opts.Mode != ModeExternal {
		return nil, fmt.Errorf("haproxy mode %q: want %s or %s", opts.Mode, ModeManaged, ModeExternal)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Controller{
		opts:    opts,
		client:  client,
		log:     opts.Logger,
		metrics: newMetrics(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "bollard"}),
		master:      haproxy.NewMaster(filepath.Join(opts.Render.RuntimeDir, render.MasterSocket), opts.Logger),
		runtime:     haproxy.NewRuntime(filepath.Join(opts.Render.RuntimeDir, render.AdminSocket), opts.Logger),
		status:      newStatusWriter(client, opts.PublishService, opts.PublishAddress),
		statusQueue: newStatusQueue(),
		lastGood:    newLastGood(),
		quarantine:  newQuarantine(),
		epoch:       newEpochToken(),
		changes:     newChangeLog(),
		renderer:    render.NewRenderer(opts.Render),
	}
	c.files = newFileWriter(render.NewRenderer(opts.Render), c.writeInBackground, func(err error) {
		c.log.Warn("writing the config dir failed; retrying with the next change", "err", err)
		c.queue.AddAfter(syncKey, time.Second)
	}, opts.Logger)
	c.verifier = newVerifier(c.checkWritten, func() { c.queue.Add(verifyFailedKey) }, func() { c.queue.Add(verifiedKey) })
	w, err := watch.New(client, watch.ScopeOf(opts.Model), watch.Handler{
		Changed:    c.changed,
		Skipped:    func(kind string) { c.metrics.eventsSkipped.WithLabelValues(kind).Inc() },
		SecretRead: c.secretReads.read,
	})
	if err != nil {
		return nil, err
	}
	c.watcher = w
	c.status.cached = w.Ingress
	if opts.GatewayClient != nil {
		scope := watch.ScopeOf(opts.Model)
		if err := w.WatchGateway(opts.GatewayClient, client, scope, watch.Handler{
			Changed: c.changed,
			Skipped: func(kind string) { c.metrics.eventsSkipped.WithLabelValues(kind).Inc() },
		}); err != nil {
			return nil, err
		}
		c.gatewayStatus = newGatewayStatusWriter(opts.GatewayClient, w, opts.Model.GatewayControllerName, opts.Logger)
		c.gatewayStatus.published = c.status.addresses
	}
	return c, nil
}

// changed wakes the apply loop for an informer event the model may read.
func (c *Controller) changed(ch watch.Change) {
	c.noteChange(ch)
	c.pendingSince.CompareAndSwap(0, time.Now().UnixNano())
	c.queue.AddAfter(syncKey, c.opts.SyncDebounce)
}

// Run serves until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.runtime.Close()
	ev, stopEvents := newEvents(c.client, "bollard")
	defer stopEvents()
	ev.slice = func(namespace, name string) runtime.Object {
		if s, ok := c.watcher.EndpointSlice(namespace, name); ok {
			return s
		}
		return nil
	}
	c.events = ev
	c.serveEndpoints(ctx)
	if err := os.MkdirAll(c.opts.ConfigDir, 0o755); err != nil {
		return fmt.Errorf("config dir: %w", err)
	}
	start := time.Now()
	if err := c.watcher.Start(ctx, 2*time.Minute); err != nil {
		return err
	}
	c.log.Info("caches synced", "after", time.Since(start).Round(time.Millisecond))
	if c.opts.LeaderElect {
		go c.runLeaderElection(ctx)
	} else {
		c.leader.Store(true)
	}
	if err := c.startup(ctx); err != nil {
		return err
	}
	go c.statusQueue.run(ctx, time.Second, c.writeStatus)
	if c.gatewayStatus != nil {
		go c.gatewayStatus.run(ctx)
	}
	filesDone := make(chan struct{})
	go func() { defer close(filesDone); c.files.run(ctx) }()
	defer func() { <-filesDone }()
	go c.tickVerify(ctx)
	c.ready.Store(true)
	c.log.Info("first config applied", "after", time.Since(start).Round(time.Millisecond))
	if sup := c.supervisor.Load(); sup != nil {
		go c.watchRestarts(ctx, sup)
	} else if c.opts.Mode == ModeManaged {
		go c.watchAdopted(ctx)
	}
	go func() { <-ctx.Done(); c.queue.ShutDown() }()
	for c.processNext(ctx) {
	}
	if sup := c.supervisor.Load(); sup != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return sup.Stop(stopCtx)
	}
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	switch key {
	case restartKey:
		// The restarted HAProxy loaded the files on disk (the render of
		// onDisk); what it holds is read back, not assumed.
		c.resync(ctx, "HAProxy restarted")
	case verifiedKey:
		if c.verifying {
			c.verifying = false
			c.rememberGood()
		}
		return true
	case verifyFailedKey:
		c.forceReload, c.forceCause = reloadCheckAfterRuntime, causeCheckAfterRuntime // the sync below reloads
	case collectKey:
		if c.collectBackends(ctx) > 0 {
			c.queue.AddAfter(collectKey, collectEvery)
		}
		return true
	case verifyKey:
		resynced, err := c.verifyEpoch(ctx)
		if err != nil || !resynced {
			if err != nil {
				c.log.Debug("epoch check failed", "err", err)
			}
			return true // nothing to do, or HAProxy is down: the supervisor or the next check handles it
		}
	}
	if err := c.sync(ctx); err != nil {
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, errAwaitBuild) || errors.Is(err, errNothingToApply) {
			// Not a failure, nor a success that resets the retry count of
			// a failed pass: the background build wakes the loop.
			return true
		}
		if errors.Is(err, errIsolated) {
			c.queue.Forget(key)
			c.queue.Add(syncKey) // the refused Ingresses are out now: go on at once
			return true
		}
		c.log.Error("sync failed; will retry", "err", err, "retries", c.queue.NumRequeues(syncKey))
		c.queue.AddRateLimited(syncKey) // retry the sync, whatever key asked for it
		return true
	}
	c.queue.Forget(key)
	c.queue.Forget(syncKey)
	return true
}

func (c *Controller) renderFiles(cfg *model.Config) ([]render.File, error) {
	files, err := c.renderer.Render(cfg)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return files, nil
}

// sync is one pass of the apply loop.
func (c *Controller) sync(ctx context.Context) error {
	start := time.Now()
	snap, cfg, err := c.modelForPass()
	if err != nil {
		// Nothing to apply yet: the changes keep waiting (pendingSince),
		// and the background build wakes the loop.
		return err
	}
	var waited time.Duration
	if since := c.pendingSince.Swap(0); since != 0 {
		// A change noted while the model was made counts from then.
		waited = max(0, start.Sub(time.Unix(0, since)))
	}
	defer func() { c.metrics.syncDuration.Observe(time.Since(start).Seconds()) }()
	built := time.Since(start)
	if !c.featuresRead {
		c.detectFeatures(ctx)
	}
	u := c.plan(cfg)
	if u.reload != "" && c.built.base != nil {
		// A reload checks and may isolate Ingresses on the snapshot: build
		// it whole (a patched one holds the slices of before).
		snap, cfg = c.buildFull()
		u = c.running.diff(cfg, c, c.features)
	}
	if u.reload == "" && len(u.commands) > 0 {
		// Commands must reach the HAProxy the running state describes.
		resynced, err := c.verifyEpoch(ctx)
		if err != nil {
			return err
		}
		if resynced {
			u = c.running.diff(cfg, c, c.features)
		}
	}
	if c.forceReload != "" && u.reload == "" {
		u.needReload(c.forceCause, c.forceReload)
	}
	if u.reload != "" && c.forceReload == "" {
		// Endpoints of the backends HAProxy has go first: the reload can
		// take seconds, or fail on an object HAProxy refuses.
		if err := c.applyEndpoints(ctx, cfg); err != nil {
			c.log.Warn("endpoint update before the reload failed", "err", err)
		}
	}
	var executed time.Duration
	if u.reload == "" && len(u.commands) > 0 {
		err := c.runtime.Execute(ctx, u.commands...)
		executed = time.Since(start) - built
		if err != nil {
			c.countRuntime(u, "error")
			u.needReload(causeRuntimeFailed, "runtime update failed: "+err.Error())
			c.log.Warn("runtime update failed; reloading instead", "err", err)
			// Part of the batch may have been applied: learn what HAProxy
			// holds, so that a failed reload cannot wedge the next batch.
			c.resync(ctx, "runtime command failed")
		} else {
			c.countRuntime(u, "success")
			c.running.applied(u, cfg)
			if len(u.retired) > 0 {
				c.queue.AddAfter(collectKey, collectEvery)
			}
		}
	}
	// HAProxy serves a runtime update already: its files are written off
	// the loop (files.go). A reload needs them first, and so do backends
	// created or deleted at run time, whose files haproxy -c checks.
	if u.reload != "" && c.built.base != nil {
		// A reload decided after the first plan (a forced one, a resync, a
		// refused command): its check and isolation read the snapshot.
		snap, cfg = c.buildFull()
	}
	files := "written"
	if u.reload == "" && len(u.created) == 0 && len(u.retired) == 0 && c.hasWritten() {
		c.running.cfg, files = cfg, "background"
		c.files.offer(cfg, c.fileGeneration())
	} else if err := c.renderAndApply(ctx, u, cfg); err != nil {
		return err
	}
	c.logApplied(u, waited, built, executed, start, files)
	if !c.verifying {
		c.rememberGood()
	}
	c.metrics.lastApply.SetToCurrentTime()
	// A patch serves the Ingresses of its base: publish only what was not
	// (the base's pass failed before this point, or leadership changed).
	if leader := c.leader.Load(); snap != c.publishedSnap || leader != c.publishedLeader {
		if b := c.built; leader == c.publishedLeader && len(b.added) > 0 && snap == b.live && c.publishedSnap == b.addedTo {
			c.publishAdded(b, cfg)
		} else {
			c.publishStatus(snap, cfg)
		}
		c.publishedSnap, c.publishedLeader = snap, leader
	}
	return nil
}

// plan is the runtime update to cfg: for a patched model whose base
// HAProxy runs, only the patched backends' slots.
func (c *Controller) plan(cfg *model.Config) *update {
	if b := c.built; b.base != nil && c.running.cfg == b.base && cfg == b.cfg {
		return c.running.diffPatched(cfg, b.patched, len(b.added) > 0, c, c.features)
	}
	return c.running.diff(cfg, c, c.features)
}

// applyEndpoints sends the slot changes of the backends HAProxy already
// has, alone.
func (c *Controller) applyEndpoints(ctx context.Context, cfg *model.Config) error {
	eu := c.running.endpointUpdate(cfg)
	if len(eu.commands) == 0 {
		return nil
	}
	if resynced, err := c.verifyEpoch(ctx); err != nil {
		return err
	} else if resynced {
		eu = c.running.endpointUpdate(cfg)
	}
	if err := c.runtime.Execute(ctx, eu.commands...); err != nil {
		c.countRuntime(eu, "error")
		c.resync(ctx, "runtime command failed")
		return err
	}
	c.countRuntime(eu, "success")
	c.running.appliedSlots(eu)
	return nil
}

// renderAndApply renders cfg and either reloads with the files or, when
// HAProxy already runs cfg, writes them.
func (c *Controller) renderAndApply(ctx context.Context, u *update, cfg *model.Config) error {
	files, err := c.renderFiles(cfg)
	if err != nil {
		return err
	}
	if u.reload != "" {
		return c.reload(ctx, u.cause, u.reload, files, cfg)
	}
	c.running.cfg = cfg
	prev, _ := c.writtenFiles()
	if err := c.write(files, cfg); err != nil {
		return err
	}
	c.verifyStructure(ctx, files, prev)
	c.markStructure(ctx, files, cfg)
	return nil
}

func (c *Controller) logApplied(u *update, waited, built, executed time.Duration, start time.Time, files string) {
	if len(u.commands) > 0 || u.reload != "" {
		path := modelFull
		switch {
		case c.built == nil:
		case c.built.background:
			path = modelBackground // adopted, perhaps with patches since its snapshot
		case c.built.base != nil && len(c.built.added) > 0:
			path = modelIngress
		case c.built.base != nil:
			path = modelPatch
		}
		attrs := []any{"runtime_commands", len(u.commands), "reload", u.reload, "model_path", path,
			"waited", waited.Round(time.Microsecond), "build", built.Round(time.Microsecond),
			"runtime_api", executed.Round(time.Microsecond), "files", files, "took", time.Since(start).Round(time.Microsecond)}
		if path == modelBackground {
			// build is the adoption; the build itself ran before this pass,
			// from a snapshot read snapshot_age ago.
			attrs = append(attrs, "background_build", c.lastFullTook.Round(time.Microsecond),
				"snapshot_age", time.Since(c.built.builtAt).Round(time.Microsecond))
		}
		c.log.Info("applied", attrs...)
	}
}

func (c *Controller) countRuntime(u *update, result string) {
	for kind, n := range u.counts {
		c.metrics.runtimeUpdates.WithLabelValues(kind, result).Add(float64(n))
	}
}

// File references for the runtime API: HAProxy 2.6 names maps,
// certificates and crt-lists exactly as the config wrote them, here
// relative paths such as "maps/hosts.map" (verified with `show map` and
// `show ssl cert`).
func (c *Controller) mapRef(rel string) string  { return rel }
func (c *Controller) certRef(rel string) string { return rel }
func (c *Controller) crtListRef() string        { return render.CrtList }

// publishStatus reports newly served Ingresses and, when this replica
// leads, hands the Ingress status to the status queue.
func (c *Controller) publishStatus(snap *model.Snapshot, cfg *model.Config) {
	c.events.servedIngresses(snap.Ingresses, cfg.Served)
	if c.leader.Load() {
		c.statusQueue.offer(statusJob{snap: snap, served: cfg.Served})
		c.gatewayStatus.offer(cfg.GatewayStatus, snap)
	}
}

// publishAdded is publishStatus for a model that only added Ingresses to
// the one last published: only they can have become served.
func (c *Controller) publishAdded(b *builtModel, cfg *model.Config) {
	added := b.live.Ingresses[len(b.live.Ingresses)-len(b.added):]
	c.events.servedAdded(added, cfg.Served)
	if c.leader.Load() {
		c.statusQueue.offer(statusJob{snap: b.live, served: cfg.Served, only: b.added}) // sorted (changeLog.take)
	}
}

// writeStatus is the status queue's writer.
func (c *Controller) writeStatus(ctx context.Context, job statusJob) error {
	if !c.leader.Load() {
		return nil
	}
	if err := c.status.sync(ctx, job.snap, job.served, job.only); err != nil {
		c.log.Warn("status update failed; will retry", "err", err)
		return err
	}
	return nil
}
