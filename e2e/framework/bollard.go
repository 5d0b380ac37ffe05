package framework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
)

// Bollard is a `bollard controller` process in managed mode, started by a
// test, with its own config dir, runtime dir and loopback ports.
type Bollard struct {
	Dir        string
	ConfigDir  string
	RuntimeDir string
	Bind       string
	HTTP       int
	HTTPS      int
	Stats      int
	Health     int
	LogPath    string
	args       []string
	cmd        *exec.Cmd
	// sidecar is the HAProxy the test runs itself in external mode.
	sidecar *Sidecar
	exited  chan struct{}
	cluster *Cluster
}

// BollardOptions configure StartBollard.
type BollardOptions struct {
	// Namespace limits the controller to one namespace (--watch-namespace).
	Namespace string
	// Bind is the loopback address of the frontends; default 127.0.0.1.
	Bind string
	// Args are extra flags; they come after the framework's, so that a
	// test's --haproxy-binary wins over HAProxyBinary.
	Args []string
	// External runs HAProxy as a sidecar would (its own process, started
	// from the files `bollard bootstrap` wrote) and the controller with
	// --haproxy-mode external.
	External bool
}

// HAProxyBinary is the HAProxy every e2e test runs: $HAPROXY_BIN
// (hack/haproxy/fetch.sh VERSION prints one per release line), else the
// haproxy on PATH, which make test installs. The controller gets it as
// --haproxy-binary (haproxy -c, and the HAProxy it starts in managed
// mode); the external-mode sidecar runs it.
func HAProxyBinary(t testing.TB) string {
	t.Helper()
	return haproxytest.Binary(t)
}

// StartBollard runs bin/bollard controller until the test ends and waits
// until /readyz answers.
func (c *Cluster) StartBollard(t testing.TB, o BollardOptions) *Bollard {
	t.Helper()
	bin := filepath.Join(c.BinDir, "bollard")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run make build", bin)
	}
	dir := t.TempDir()
	b := &Bollard{
		Dir: dir, ConfigDir: filepath.Join(dir, "config"), RuntimeDir: filepath.Join(dir, "run"),
		Bind: o.Bind, HTTP: freePort(t), HTTPS: freePort(t), Stats: freePort(t), Health: freePort(t),
		LogPath: filepath.Join(dir, "bollard.log"), cluster: c,
	}
	if b.Bind == "" {
		b.Bind = "127.0.0.1"
	}
	// The runtime dir is not created here: in managed mode the controller
	// must create it, in external mode `bollard bootstrap` does.
	mode := "managed"
	if o.External {
		mode = "external"
	}
	b.args = append([]string{bin, "controller",
		"--kubeconfig", c.Kubeconfig,
		"--haproxy-mode", mode,
		"--haproxy-binary", HAProxyBinary(t),
		"--config-dir", b.ConfigDir, "--runtime-dir", b.RuntimeDir,
		"--bind-address", b.Bind,
		"--http-port", strconv.Itoa(b.HTTP), "--https-port", strconv.Itoa(b.HTTPS), "--stats-port", strconv.Itoa(b.Stats),
		"--health-address", "127.0.0.1:" + strconv.Itoa(b.Health), "--metrics-address", "127.0.0.1:" + strconv.Itoa(b.Health),
		"--log-format", "text",
	}, o.Args...)
	if o.Namespace != "" {
		b.args = append(b.args, "--watch-namespace", o.Namespace)
	}
	if o.External {
		b.startSidecar(t, bin)
	}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

// Start (re)starts the controller process and waits for /readyz.
func (b *Bollard) Start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(b.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(b.args[0], b.args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a SIGKILL of the controller leaves HAProxy alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	b.cmd, b.exited = cmd, exited
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("bollard exited before it was ready:\n%s", b.Log())
		default:
		}
		if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(b.Health) + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bollard not ready after 60s:\n%s", b.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the controller only; HAProxy keeps running.
func (b *Bollard) Kill(t testing.TB) {
	t.Helper()
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.exited
	b.cmd = nil
}

// Stop ends the controller (SIGTERM) and then any HAProxy still answering
// on its master socket, by the master's PID.
func (b *Bollard) Stop(t testing.TB) {
	t.Helper()
	if b.cmd != nil && b.cmd.Process != nil {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(15 * time.Second):
			t.Errorf("bollard did not stop on SIGTERM within 15s; killing it")
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
		b.cmd = nil
	}
	if pid, err := b.MasterPID(); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !waitExitTimeout(pid, 10*time.Second) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if b.sidecar != nil {
		b.sidecar.stop()
	}
}

// waitExitTimeout waits for a process that is not our child (HAProxy,
// once its controller is gone) to disappear.
func waitExitTimeout(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Log returns the controller's log so far.
func (b *Bollard) Log() string {
	data, _ := os.ReadFile(b.LogPath)
	return string(data)
}

// Request is a plain-HTTP request to host+path through HAProxy.
func (b *Bollard) Request(host, path string) Request {
	return Request{Addr: net.JoinHostPort(b.Bind, strconv.Itoa(b.HTTP)), Host: host, Path: path}
}

// TLSRequest is an HTTPS request to host+path through HAProxy.
func (b *Bollard) TLSRequest(host, path string) Request {
	return Request{Addr: net.JoinHostPort(b.Bind, strconv.Itoa(b.HTTPS)), Host: host, Path: path, TLS: true}
}

func (b *Bollard) master() *haproxy.Master {
	return haproxy.NewMaster(filepath.Join(b.RuntimeDir, "master.sock"), b.cluster.Log)
}

// MasterPID is the PID of the HAProxy master.
func (b *Bollard) MasterPID() (int, error) {
	procs, err := b.processes()
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		if p.Role == "master" {
			return p.PID, nil
		}
	}
	return 0, fmt.Errorf("no master in show proc")
}

// Reloads is the number of reloads HAProxy's master has done.
func (b *Bollard) Reloads(t testing.TB) int {
	t.Helper()
	procs, err := b.processes()
	if err != nil {
		t.Fatalf("show proc: %v", err)
	}
	for _, p := range procs {
		if p.Role == "master" {
			return p.Reloads
		}
	}
	t.Fatalf("no master in show proc: %+v", procs)
	return 0
}

// WaitOldWorkersGone waits until HAProxy's master lists no old worker:
// after a reload, one may still accept a connection from the listeners it
// shares with the new worker, and serve it with the config of before.
func (b *Bollard) WaitOldWorkersGone(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := b.OldWorkersGone(timeout); err != nil {
		t.Fatal(err)
	}
}

// OldWorkersGone is WaitOldWorkersGone returning the error. A master
// that does not answer is asked again: at 10k backends, during and after
// a reload, its socket refuses connections for seconds ("resource
// temporarily unavailable").
func (b *Bollard) OldWorkersGone(timeout time.Duration) error {
	var last error
	err := WaitFor(context.Background(), timeout, "no old HAProxy worker", func(context.Context) (bool, error) {
		procs, err := b.processes()
		if last = err; err != nil {
			return false, nil
		}
		for _, p := range procs {
			if p.Old {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last show proc: %v)", err, last)
	}
	return err
}

func (b *Bollard) processes() ([]haproxy.Process, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Closed at once: a Master keeps its connection for reuse, and the
	// master's CLI takes few (polling without closing filled it, and
	// connect failed with EAGAIN for a minute).
	m := b.master()
	defer m.Close()
	return m.Processes(ctx)
}

// Metric returns the value of the first sample of a metric whose line
// starts with prefix (name and labels), or 0 when absent.
func (b *Bollard) Metric(t testing.TB, prefix string) float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(b.Health) + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// WaitServed waits until host+path is answered by a pod of service.
func (b *Bollard) WaitServed(t testing.TB, host, path, service string, timeout time.Duration) *Echo {
	t.Helper()
	var last string
	var echo *Echo
	err := WaitFor(context.Background(), timeout, host+path+" served by "+service, func(ctx context.Context) (bool, error) {
		e, err := GetEcho(ctx, b.Request(host, path))
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = "served by " + e.Service + "/" + e.Pod
		echo = e
		return e.Service == service, nil
	})
	if err != nil {
		t.Fatalf("%v (last: %s)\nlog:\n%s", err, last, tail(b.Log(), 40))
	}
	return echo
}

// WaitServedByExactly waits until requests to host reach every pod of
// pods and no other: 8 requests per pod each round, so that round-robin
// shows every server.
func (b *Bollard) WaitServedByExactly(t testing.TB, host string, pods []string, timeout time.Duration) {
	t.Helper()
	want := map[string]bool{}
	for _, pod := range pods {
		want[pod] = true
	}
	seen := map[string]bool{}
	err := WaitFor(context.Background(), timeout, fmt.Sprintf("traffic to exactly the %d pods", len(want)), func(ctx context.Context) (bool, error) {
		seen = map[string]bool{}
		for i := 0; i < 8*len(want); i++ {
			e, err := GetEcho(ctx, b.Request(host, "/"))
			if err != nil {
				return false, err
			}
			seen[e.Pod] = true
		}
		for pod := range seen {
			if !want[pod] {
				return false, fmt.Errorf("pod %s is not among the wanted ones but gets traffic", pod)
			}
		}
		return len(seen) == len(want), nil
	})
	if err != nil {
		t.Fatalf("%v (seen %v, want %v)", err, seen, want)
	}
}

// ReadFiles reads every file under dir, hidden ones and those in hidden
// directories too, keyed by the path relative to dir; skip (when not nil)
// leaves out the files whose base name it is true for.
func ReadFiles(t testing.TB, dir string, skip func(name string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	// Bollard may be writing meanwhile: a staging directory or file listed
	// by the walk can be gone when it is read. What is gone is not there.
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil && errors.Is(err, fs.ErrNotExist) && path != dir {
			return nil
		}
		if err != nil || d.IsDir() || (skip != nil && skip(d.Name())) {
			return err
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freePort(t testing.TB) int {
	t.Helper()
	return haproxytest.FreePort(t)
}

// AssertReloads fails t unless exactly want reloads happened since start,
// after a pause that lets a late reload show; the failure shows the tail
// of the controller's log.
func (b *Bollard) AssertReloads(t testing.TB, start, want int, what string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	if got := b.Reloads(t) - start; got != want {
		t.Errorf("%s: %d reloads, want %d\nbollard log (tail):\n%s", what, got, want, TailLines(b.Log(), 40))
	}
}

// TailLines returns the last n lines of s.
func TailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
