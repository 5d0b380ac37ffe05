// Package proc starts detached background processes and stops them again by PID.
package proc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// FreePort returns a TCP port on 127.0.0.1 for a cluster process. A port
// the kernel hands out for ":0" is in the ephemeral range, where an
// outgoing connection took one before kube-controller-manager bound it
// (seen in CI). So ports are drawn below that range and claimed as the
// main module's tests claim theirs (pkg/haproxy/internal/loopback, which
// this module cannot import): an flock on os.TempDir()/bollard-ports/PORT.lock,
// held until this process exits, and a bind check.
func FreePort() (int, error) {
	const first, n = 20000, 12000
	dir := filepath.Join(os.TempDir(), "bollard-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("port lock directory: %w", err)
	}
	start := rand.IntN(n)
	for i := range n {
		port := first + (start+i)%n
		fd, err := syscall.Open(filepath.Join(dir, strconv.Itoa(port)+".lock"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o666)
		if err != nil {
			continue // another user's lock file: leave the port to them
		}
		if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			_ = syscall.Close(fd)
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			_ = syscall.Close(fd) // in use outside the claims
			continue
		}
		_ = ln.Close()
		return port, nil // fd stays open: the claim lasts until this process exits
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d", first, first+n-1)
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
