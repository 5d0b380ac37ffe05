// Package proc starts detached background processes and stops them again by PID.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

// Start runs exe with args in a new session (setsid), with stdin from /dev/null and
// stdout and stderr appended to logPath, and does not wait for it.
func Start(name, exe string, args []string, logPath string, env []string) (state.Process, error) {
	resolved, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return state.Process{}, fmt.Errorf("start %s: resolve %s: %w", name, exe, err)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return state.Process{}, fmt.Errorf("start %s: %w", name, err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return state.Process{}, fmt.Errorf("start %s: open log: %w", name, err)
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(resolved, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return state.Process{}, fmt.Errorf("start %s: %w", name, err)
	}
	p := state.Process{Name: name, PID: cmd.Process.Pid, Exe: resolved, Log: logPath}
	// Reap the child if it dies while we are still running; once we exit, init adopts it.
	go func() { _ = cmd.Wait() }()
	return p, nil
}

// Alive reports whether p still runs the binary it was started with (zombies count as dead).
func Alive(p state.Process) bool {
	if p.PID <= 0 {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if p.Exe != "" && exe != p.Exe {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// The state letter follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Stop sends SIGTERM, waits up to grace for p to exit, then sends SIGKILL and waits again.
// A process that is already gone is not an error.
func Stop(ctx context.Context, p state.Process, grace time.Duration) error {
	if !Alive(p) {
		return nil
	}
	if err := syscall.Kill(p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
	}
	if waitGone(ctx, p, grace) {
		return nil
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID, err)
	}
	if !waitGone(ctx, p, 10*time.Second) {
		return fmt.Errorf("%s (pid %d) still alive after SIGKILL", p.Name, p.PID)
	}
	return nil
}

func waitGone(ctx context.Context, p state.Process, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !Alive(p) {
			return true
		}
		select {
		case <-ctx.Done():
			return !Alive(p)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return !Alive(p)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last n bytes of a log file, for error messages.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return string(buf)
}
