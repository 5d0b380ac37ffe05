package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// After a runtime update HAProxy already serves the change; the files only
// have to be right for its next load. At 10k Ingresses rendering and
// writing them takes about 100 ms, which in the apply loop delayed the next
// endpoint change by as much. So the loop hands the model to a writer of
// its own, which renders and writes the newest one it was given, once
// offers pause for filesQuiet or the oldest waited filesMaxLag. A render
// at 10k Ingresses allocates ~80 MB: under a stream of endpoint changes it
// runs every filesMaxLag, not after each change (the garbage collections
// it caused were P1's slowest changes at 10k). Reloads
// and runtime structural changes still render and write in the loop: they
// need the files first. onDisk keeps saying what a restarted HAProxy
// would load.

const (
	filesQuiet  = 200 * time.Millisecond
	filesMaxLag = 5 * time.Second
)

// fileWriter renders and writes runtime-applied models off the apply loop.
type fileWriter struct {
	renderer *render.Renderer // its own: a Renderer is not safe for concurrent use
	write    func(files []render.File, cfg *model.Config, gen uint64) (bool, error)
	failed   func(error)
	log      *slog.Logger
	// quiet and maxLag are filesQuiet and filesMaxLag (shorter in tests).
	quiet, maxLag time.Duration

	mu      sync.Mutex
	pending *model.Config
	gen     uint64    // the loop's file generation when pending was offered
	since   time.Time // when the oldest unwritten offer came
	wake    chan struct{}
	idle    chan struct{} // closed when nothing is pending or being written
}

func newFileWriter(renderer *render.Renderer, write func([]render.File, *model.Config, uint64) (bool, error), failed func(error), log *slog.Logger) *fileWriter {
	idle := make(chan struct{})
	close(idle)
	return &fileWriter{renderer: renderer, write: write, failed: failed, log: log, quiet: filesQuiet, maxLag: filesMaxLag,
		wake: make(chan struct{}, 1), idle: idle}
}

// offer asks for cfg's files; a newer offer replaces one not written yet.
// gen is the generation of the files the loop last wrote itself.
func (w *fileWriter) offer(cfg *model.Config, gen uint64) {
	w.mu.Lock()
	if w.pending == nil {
		w.since = time.Now()
		select {
		case <-w.idle:
			w.idle = make(chan struct{})
		default:
		}
	}
	w.pending, w.gen = cfg, gen
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// drop forgets what waits: the loop wrote newer files itself.
func (w *fileWriter) drop() {
	w.mu.Lock()
	w.pending = nil
	w.mu.Unlock()
}

// wait returns once nothing waits or is being written; for tests.
func (w *fileWriter) wait() {
	w.mu.Lock()
	idle := w.idle
	w.mu.Unlock()
	<-idle
}

// run writes until ctx ends; then it writes what waits, once.
func (w *fileWriter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			w.writePending()
			return
		case <-w.wake:
		}
		// Let a burst settle, but not for longer than filesMaxLag.
		for {
			w.mu.Lock()
			due := w.since.Add(w.maxLag)
			w.mu.Unlock()
			wait := min(w.quiet, time.Until(due))
			if wait <= 0 {
				break
			}
			select {
			case <-ctx.Done():
				w.writePending()
				return
			case <-w.wake:
				continue // another offer: quiet again
			case <-time.After(wait):
			}
			break
		}
		w.writePending()
	}
}

func (w *fileWriter) writePending() {
	// Taken, not left pending while it is written: an offer made meanwhile
	// starts a new wait (since), so a stream of offers gives one render per
	// filesMaxLag, not one render after another.
	w.mu.Lock()
	cfg, gen := w.pending, w.gen
	w.pending = nil
	w.mu.Unlock()
	if cfg != nil {
		start := time.Now()
		files, err := w.renderer.Render(cfg)
		rendered := time.Since(start)
		written := false
		if err == nil {
			written, err = w.write(files, cfg, gen)
		}
		switch {
		case err != nil:
			w.failed(err)
		case written:
			w.log.Info("config files written in the background", "render", rendered.Round(time.Microsecond),
				"took", time.Since(start).Round(time.Microsecond))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		select {
		case <-w.idle:
		default:
			close(w.idle)
		}
	} else {
		select { // offered meanwhile: go on
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// hasWritten reports whether the config dir holds a known render.
func (c *Controller) hasWritten() bool {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	return c.written != nil
}

func (c *Controller) fileGeneration() uint64 {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	return c.filesGen
}

// writtenFiles returns what the config dir holds (nil: unknown) and the
// model it is the render of.
func (c *Controller) writtenFiles() ([]render.File, *model.Config) {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	return c.written, c.onDisk
}
