package framework

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// Sidecar is an HAProxy that the test runs the way the deployed pod's
// haproxy container does: `haproxy -W -S master.sock -f haproxy.cfg` from
// the config dir, not started or supervised by the controller.
type Sidecar struct {
	args    []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startSidecar writes the bootstrap config with `bollard bootstrap` (the
// init container) and starts HAProxy on it.
func (b *Bollard) startSidecar(t testing.TB, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "bootstrap", "--config-dir", b.ConfigDir, "--runtime-dir", b.RuntimeDir,
		"--bind-address", b.Bind, "--http-port", strconv.Itoa(b.HTTP), "--https-port", strconv.Itoa(b.HTTPS),
		"--stats-port", strconv.Itoa(b.Stats)).CombinedOutput()
	if err != nil {
		t.Fatalf("bollard bootstrap: %v\n%s", err, out)
	}
	b.sidecar = &Sidecar{
		args:    []string{HAProxyBinary(t), "-W", "-db", "-S", filepath.Join(b.RuntimeDir, "master.sock"), "-f", filepath.Join(b.ConfigDir, "haproxy.cfg")},
		logPath: filepath.Join(b.Dir, "haproxy.log"),
	}
	b.sidecar.start(t)
}

func (s *Sidecar) start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
}

// stop ends the sidecar's master and workers (its process group).
func (s *Sidecar) stop() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	s.cmd = nil
}

// RestartSidecar kills the sidecar HAProxy, master and workers, as when its
// container restarts (OOM, liveness probe), and starts it again from the
// files in the config dir. It returns when the new master answers.
func (b *Bollard) RestartSidecar(t testing.TB) {
	t.Helper()
	if b.sidecar == nil {
		t.Fatal("RestartSidecar needs BollardOptions.External")
	}
	procs, _ := b.processes()
	b.sidecar.stop()
	for _, p := range procs {
		if !waitExitTimeout(p.PID, 10*time.Second) {
			t.Fatalf("haproxy process %d still runs after SIGKILL", p.PID)
		}
	}
	// The sockets of the dead master stay behind as files.
	_ = os.Remove(filepath.Join(b.RuntimeDir, "master.sock"))
	b.sidecar.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := haproxy.WaitForSocket(ctx, filepath.Join(b.RuntimeDir, "master.sock")); err != nil {
		t.Fatalf("restarted haproxy: %v", err)
	}
	if _, err := b.MasterPID(); err != nil {
		t.Fatalf("restarted haproxy: %v", err)
	}
}

// ServingAddresses returns the addresses of the servers of backend that
// HAProxy itself has in rotation (not in maintenance), from `show servers
// state` on the admin socket: what traffic can reach, whatever the
// controller believes.
func (b *Bollard) ServingAddresses(t testing.TB, backend string) []netip.AddrPort {
	t.Helper()
	ctx, rt, done := b.adminSocket()
	defer done()
	states, err := rt.ServersState(ctx, backend)
	if err != nil {
		t.Fatalf("show servers state %s: %v", backend, err)
	}
	var out []netip.AddrPort
	for _, st := range states {
		if st.Serving() && st.Addr.IsValid() && !st.Addr.IsUnspecified() {
			out = append(out, st.AddrPort())
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}
