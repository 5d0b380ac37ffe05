package controller

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/render"
)

// Files whose structure changed at run time (backends created or deleted
// over the runtime API, HAProxy 3.4+) are checked with haproxy -c after
// they are written, off the apply loop: HAProxy itself validated every
// created backend, and the check takes about 0.4-1 s at 10k Ingresses,
// which in the loop delayed the next change by as much (P2b at 10k on 3.4:
// p50 676 ms with the check in the loop, 166 ms without). A refusal makes
// the next sync reload, whose check leaves the refusing Ingress out, so
// unchecked files stay on disk for one check at most.

// Until the check passes, the model is not remembered as the last good one
// (Controller.verifying): an Ingress whose update the check refuses then
// falls back to its last good version.

// verifyFailedKey asks the apply loop to reload after a refused check;
// verifiedKey tells it that the newest files passed.
const (
	verifyFailedKey = "verify-failed"
	verifiedKey     = "verified"
)

// verifier runs one check at a time on the newest files submitted.
type verifier struct {
	check func(ctx context.Context, files []render.File) error
	// refused and passed are called from the verifier's goroutine: passed
	// when the newest files passed and nothing waits.
	refused, passed func()

	mu      sync.Mutex
	running bool
	next    []render.File
	idle    chan struct{} // closed when no check runs; for tests
}

func newVerifier(check func(context.Context, []render.File) error, refused, passed func()) *verifier {
	idle := make(chan struct{})
	close(idle)
	return &verifier{check: check, refused: refused, passed: passed, idle: idle}
}

// submit checks files, after the check under way if there is one; a newer
// submission replaces one that waits.
func (v *verifier) submit(ctx context.Context, files []render.File) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next = files
	if v.running {
		return
	}
	v.running, v.idle = true, make(chan struct{})
	go v.run(ctx)
}

func (v *verifier) run(ctx context.Context) {
	passed := false
	for {
		v.mu.Lock()
		files := v.next
		v.next = nil
		if files == nil || ctx.Err() != nil {
			// Idle only after passed ran, so that wait covers it.
			idle := v.idle
			v.mu.Unlock()
			if passed {
				v.passed()
			}
			v.mu.Lock()
			if v.next != nil { // submitted meanwhile: go on with it
				v.mu.Unlock()
				passed = false
				continue
			}
			v.running = false
			close(idle)
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		checkCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := v.check(checkCtx, files)
		cancel()
		var refused *haproxy.CheckError
		passed = err == nil
		if errors.As(err, &refused) {
			v.refused()
		}
	}
}

// wait returns when no check runs or waits.
func (v *verifier) wait() {
	v.mu.Lock()
	idle := v.idle
	v.mu.Unlock()
	<-idle
}

// verifyDir is the staging dir of the verifier's checks, beside the
// reload's.
func (c *Controller) verifyDir() string { return filepath.Join(c.opts.ConfigDir, ".verify") }

// verifyStructure submits files to the verifier when their haproxy.cfg
// differs in structure from the one written before (prev; nil: unknown).
func (c *Controller) verifyStructure(ctx context.Context, files, prev []render.File) {
	if prev != nil && configHashOf(files) == configHashOf(prev) {
		return
	}
	c.verifying = true
	c.verifier.submit(ctx, files)
}

// checkWritten is the verifier's check.
func (c *Controller) checkWritten(ctx context.Context, files []render.File) error {
	err := c.checkIn(ctx, c.verifyDir(), files)
	if err != nil && !errors.Is(err, errStaging) {
		c.metrics.checkFailures.Inc()
		c.log.Error("files written after a runtime structural change fail haproxy -c; reloading to leave the refused Ingress out", "err", err)
	}
	return err
}
