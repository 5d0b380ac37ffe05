// Package haproxytest runs a real HAProxy on rendered files for tests, and
// real HTTP backends that say who they are.
package haproxytest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/internal/loopback"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/render"
)

// Binary returns the HAProxy binary the tests run, failing the test when it
// is missing: $HAPROXY_BIN (hack/haproxy/fetch.sh prints one per version),
// else the haproxy on PATH, which `make test` installs.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// BinaryPath is Binary for code without a testing.TB.
func BinaryPath() (string, error) {
	name := os.Getenv("HAPROXY_BIN")
	if name == "" {
		name = "haproxy"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("haproxy binary %q (HAPROXY_BIN, else the haproxy on PATH, which make test installs): %w", name, err)
	}
	return path, nil
}

// FreePort returns a loopback TCP port, below the ephemeral range, that no
// other FreePort caller on the machine gets while this test binary lives
// (loopback.FreePort).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Options returns render options with free loopback ports and a runtime
// directory inside dir.
func Options(t testing.TB, dir string) render.Options {
	t.Helper()
	runtime := filepath.Join(dir, "run")
	if err := os.MkdirAll(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	return render.Options{
		BindAddress: "127.0.0.1",
		HTTPPort:    FreePort(t),
		HTTPSPort:   FreePort(t),
		StatsPort:   FreePort(t),
		RuntimeDir:  runtime,
	}
}

// Check runs `haproxy -c` on dir/haproxy.cfg and fails the test with
// HAProxy's message when it is rejected.
func Check(t testing.TB, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := haproxy.Check(ctx, Binary(t), filepath.Join(dir, render.ConfigFile)); err != nil {
		t.Fatal(err)
	}
}

// Instance is a running HAProxy.
type Instance struct {
	HTTP, HTTPS string // base URLs
	Opts        render.Options
	cmd         *exec.Cmd
}

// Start writes files into dir and runs HAProxy on them in the foreground
// (-db) until the test ends. It waits until the HTTP port accepts.
func Start(t testing.TB, dir string, files []render.File, opts render.Options) *Instance {
	t.Helper()
	if err := haproxy.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	Check(t, dir)
	cmd := exec.Command(Binary(t), "-db", "-f", filepath.Join(dir, render.ConfigFile))
	logFile, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inst := &Instance{
		HTTP:  "http://127.0.0.1:" + strconv.Itoa(opts.HTTPPort),
		HTTPS: "https://127.0.0.1:" + strconv.Itoa(opts.HTTPSPort),
		Opts:  opts,
		cmd:   cmd,
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	})
	// Ready when both the traffic port and the stats socket accept: HAProxy
	// binds them one after the other, and a test that went on after the
	// port alone sometimes found no admin.sock yet.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := dialClose("tcp", "127.0.0.1:"+strconv.Itoa(opts.HTTPPort))
		if err == nil {
			err = dialClose("unix", filepath.Join(opts.RuntimeDir, render.AdminSocket))
		}
		if err == nil {
			return inst
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
			t.Fatalf("haproxy did not listen on %d and its stats socket: %v\n%s", opts.HTTPPort, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dialClose(network, addr string) error {
	c, err := net.Dial(network, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Response is what a test request got.
type Response struct {
	Status int
	Body   string
	Header http.Header
	TLS    *tls.ConnectionState
}

// Get sends a GET for path with the Host header host to base, without
// following redirects.
func Get(t testing.TB, base, host, path string) Response {
	t.Helper()
	return Do(t, &http.Client{}, http.MethodGet, base, host, path)
}

// Do sends one request and reads the whole answer.
func Do(t testing.TB, client *http.Client, method, base, host, path string) Response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	c := *client
	c.Timeout = 10 * time.Second
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s (Host %s): %v", method, base, path, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Body: string(body), Header: resp.Header, TLS: resp.TLS}
}

// Backend is a loopback HTTP server that answers "name path".
type Backend struct {
	Name string
	Host string // 127.0.0.1
	Port int32
}

// NewBackend starts a backend until the test ends.
func NewBackend(t testing.TB, name string) Backend {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", name, r.RequestURI)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	return Backend{Name: name, Host: host, Port: int32(p)}
}
