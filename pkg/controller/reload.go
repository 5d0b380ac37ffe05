package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// reload validates the candidate with haproxy -c in a staging directory,
// swaps it in and reloads HAProxy. A rejected candidate leaves the last
// good config on disk and in service.
func (c *Controller) reload(ctx context.Context, cause reloadCause, reason string, files []render.File, cfg *model.Config) error {
	changed, err := c.checkAccepted(ctx, files, cfg)
	if err != nil {
		result := "check_failed"
		if errors.Is(err, errStaging) {
			result = "write_failed" // the candidate could not even be written
		}
		c.metrics.reloads.WithLabelValues(cause.label(), result).Inc()
		return err
	}
	if err := c.write(files, cfg); err != nil {
		c.metrics.reloads.WithLabelValues(cause.label(), "write_failed").Inc()
		return err
	}
	start := time.Now()
	reloadCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = c.master.Reload(reloadCtx)
	// The kept stats connection reaches the old worker now; the worker
	// check would find out, but not for a while after its last look
	// (haproxy.Runtime trusts a worker it saw live for a few ms).
	_ = c.runtime.Reset()
	if err != nil {
		c.metrics.reloads.WithLabelValues(cause.label(), "error").Inc()
		c.events.reloadFailed(c.built.live, changed, err)
		return fmt.Errorf("reload (%s): %w", reason, err)
	}
	c.metrics.reloads.WithLabelValues(cause.label(), "success").Inc()
	c.log.Info("reloaded HAProxy", "cause", reason, "took", time.Since(start).Round(time.Millisecond))
	c.running = newRunning(cfg)
	c.forceReload, c.verifying = "", false // the files passed haproxy -c
	c.loadedHash = configHashOf(files)
	if err := c.markEpoch(ctx); err != nil {
		// The next check finds the marker missing and reads the state back.
		c.log.Warn("could not mark the reloaded HAProxy", "err", err)
	}
	return nil
}

// write swaps files, the render of cfg, into the config dir unless they
// are what it holds.
func (c *Controller) write(files []render.File, cfg *model.Config) error {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	c.filesGen++ // newer than anything the file writer waits with
	if c.files != nil {
		c.files.drop()
	}
	return c.writeLocked(files, cfg)
}

// writeInBackground is the file writer's write: it reports false when the
// loop wrote files itself since it offered cfg (gen).
func (c *Controller) writeInBackground(files []render.File, cfg *model.Config, gen uint64) (bool, error) {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	if gen != c.filesGen {
		return false, nil
	}
	return true, c.writeLocked(files, cfg)
}

func (c *Controller) writeLocked(files []render.File, cfg *model.Config) error {
	if sameFiles(c.written, files) {
		c.onDisk = cfg
		return nil
	}
	if err := haproxy.WriteChangedFiles(c.opts.ConfigDir, files, c.written); err != nil {
		c.written = nil // unknown: compare again next time
		return fmt.Errorf("write config dir: %w", err)
	}
	c.written, c.onDisk = files, cfg
	return nil
}

func sameFiles(a, b []render.File) bool {
	return slices.EqualFunc(a, b, func(x, y render.File) bool {
		return x.Path == y.Path && x.Mode == y.Mode && bytes.Equal(x.Data, y.Data)
	})
}

// errStaging marks a candidate that could not be written for haproxy -c
// (an unwritable or full config dir), as opposed to one HAProxy rejected.
var errStaging = errors.New("staging dir")

func (c *Controller) check(ctx context.Context, files []render.File) error {
	if err := c.checkCandidate(ctx, files); err != nil {
		if errors.Is(err, errStaging) {
			return err
		}
		c.metrics.checkFailures.Inc()
		var checkErr *haproxy.CheckError
		if errors.As(err, &checkErr) {
			c.log.Error("candidate config rejected; keeping the last good config", "haproxy", checkErr.Output)
		}
		return err
	}
	return nil
}

func (c *Controller) stagingDir() string { return filepath.Join(c.opts.ConfigDir, ".candidate") }

// checkCandidate runs haproxy -c on files written to the staging dir.
func (c *Controller) checkCandidate(ctx context.Context, files []render.File) error {
	return c.checkIn(ctx, c.stagingDir(), files)
}

// checkIn runs haproxy -c on files written to staging, a dir of its own.
func (c *Controller) checkIn(ctx context.Context, staging string, files []render.File) error {
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("%w: %w", errStaging, err)
	}
	defer os.RemoveAll(staging) // also what a failed write left
	if err := haproxy.WriteFiles(staging, files); err != nil {
		return fmt.Errorf("%w: %w", errStaging, err)
	}
	checkCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return haproxy.Check(checkCtx, c.opts.HAProxyBinary, filepath.Join(staging, render.ConfigFile))
}
