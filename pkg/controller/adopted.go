package controller

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/render"
)

// adoptedPoll is how often watchAdopted checks the adopted master.
const adoptedPoll = 200 * time.Millisecond

// watchAdopted stands in for the supervisor after a managed-mode
// controller adopted the HAProxy that an earlier controller started. It
// cannot wait for a process it did not start, so it polls the master's
// PID; when the master is gone it starts HAProxy under a supervisor of its
// own, from the files on disk, and re-applies the runtime state as after a
// crash. Without it an adopted HAProxy that died stayed down.
func (c *Controller) watchAdopted(ctx context.Context) {
	pid := 0
	for {
		procCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		procs, err := c.master.Processes(procCtx)
		cancel()
		if err == nil && len(procs) > 0 && procs[0].Role == "master" {
			pid = procs[0].PID
			break
		}
		if !sleepCtx(ctx, time.Second) {
			return
		}
	}
	c.log.Info("watching the adopted HAProxy master", "pid", pid)
	for processAlive(pid) {
		if !sleepCtx(ctx, adoptedPoll) {
			return
		}
	}
	c.log.Error("the adopted HAProxy master exited; starting HAProxy", "pid", pid)
	masterSocket := filepath.Join(c.opts.Render.RuntimeDir, render.MasterSocket)
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		sup, err := haproxy.StartSupervisor(ctx, c.supervisorOptions(masterSocket))
		if err == nil {
			c.supervisor.Store(sup)
			c.log.Warn("HAProxy was restarted; re-applying state")
			c.queue.Add(restartKey)
			c.watchRestarts(ctx, sup)
			return
		}
		c.log.Error("starting HAProxy failed", "err", err, "retry_in", delay)
		if !sleepCtx(ctx, delay) {
			return
		}
	}
}

// processAlive reports whether pid runs; a zombie (an orphaned master
// that init has not reaped yet) counts as gone.
func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false
		}
		err := syscall.Kill(pid, 0) // no /proc: existence only
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	// The state letter follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
