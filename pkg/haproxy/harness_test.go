package haproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/internal/loopback"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

// testConfig is the HAProxy config of the integration tests. Files are
// relative to the config directory ("default-path config"), as Bollard
// renders them.
const testConfig = `global
  default-path config
  hard-stop-after 3s
  stats socket {{RUN}}/admin.sock mode 600 level admin expose-fd listeners

defaults bollard
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s

frontend http from bollard
  bind 127.0.0.1:{{HTTP}}
  bind 127.0.0.1:{{HTTPS}} ssl crt certs/default.pem crt-list certs/crt-list.txt
  http-request set-var(txn.be) req.hdr(host),field(1,:),lower,map_str(maps/hosts.map)
  http-request return status 404 content-type text/plain string "no route" if !{ var(txn.be) -m found }
  use_backend %[var(txn.be)]

backend be1 from bollard
  server-template slot 1-4 0.0.0.0:1 disabled

backend be2 from bollard
  server-template slot 1-4 0.0.0.0:1 disabled
`

// syncBuffer collects logs from goroutines that may outlive the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proxy is a real HAProxy run by a Supervisor for one test.
type proxy struct {
	t                   testing.TB
	dir, run            string
	httpPort, httpsPort int
	sup                 *Supervisor
	rt                  *Runtime
	master              *Master
	logs                *syncBuffer
	logger              *slog.Logger
	features            Features // of the running binary
}

func haproxyBinary(t testing.TB) string {
	t.Helper()
	name := os.Getenv("HAPROXY_BIN") // hack/haproxy/fetch.sh VERSION prints one
	if name == "" {
		name = "haproxy"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("haproxy binary %q is not installed: %v", name, err)
	}
	return path
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t testing.TB, name string) tlscert.Pair {
	t.Helper()
	p, err := tlscert.SelfSigned([]string{name}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startProxy writes the test config into a short temp dir (Unix socket
// paths are limited to 107 bytes) and starts HAProxy on it.
func startProxy(t testing.TB) *proxy {
	t.Helper()
	root, err := os.MkdirTemp("", "bhx")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, dir: filepath.Join(root, "cfg"), run: filepath.Join(root, "run"),
		httpPort: freePort(t), httpsPort: freePort(t), logs: &syncBuffer{}}
	p.logger = slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", p.logs.String())
		}
		os.RemoveAll(root)
	})
	if err := os.MkdirAll(p.run, 0o700); err != nil {
		t.Fatal(err)
	}
	p.writeConfig(p.config())
	writeFile(t, filepath.Join(p.dir, "maps/hosts.map"), []byte("a.test be1\n"))
	writeFile(t, filepath.Join(p.dir, "certs/default.pem"), selfSigned(t, "default.test").Combined())
	writeFile(t, filepath.Join(p.dir, "certs/a.pem"), selfSigned(t, "a.test").Combined())
	writeFile(t, filepath.Join(p.dir, "certs/crt-list.txt"), []byte("certs/a.pem a.test\n"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.sup, err = StartSupervisor(ctx, SupervisorOptions{
		Binary:       haproxyBinary(t),
		ConfigFile:   filepath.Join(p.dir, "haproxy.cfg"),
		MasterSocket: filepath.Join(p.run, "master.sock"),
		Logger:       p.logger,
	})
	if err != nil {
		t.Fatalf("start haproxy: %v\nlogs:\n%s", err, p.logs.String())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.sup.Stop(ctx); err != nil {
			t.Errorf("stop haproxy: %v", err)
		}
	})
	p.rt = NewRuntime(filepath.Join(p.run, "admin.sock"), p.logger)
	t.Cleanup(func() { p.rt.Close() })
	p.master = NewMaster(filepath.Join(p.run, "master.sock"), p.logger)
	t.Cleanup(func() { p.master.Close() })
	v, err := p.rt.Version(p.ctx())
	if err != nil {
		t.Fatal(err)
	}
	p.features = FeaturesFor(v)
	p.master.UseFeatures(p.features)
	return p
}

func (p *proxy) config() string {
	r := strings.NewReplacer("{{RUN}}", p.run, "{{HTTP}}", strconv.Itoa(p.httpPort), "{{HTTPS}}", strconv.Itoa(p.httpsPort))
	return r.Replace(testConfig)
}

func (p *proxy) writeConfig(cfg string) {
	writeFile(p.t, filepath.Join(p.dir, "haproxy.cfg"), []byte(cfg))
}

func (p *proxy) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	p.t.Cleanup(cancel)
	return ctx
}

func (p *proxy) exec(cmds ...Command) {
	p.t.Helper()
	if err := p.rt.Execute(p.ctx(), cmds...); err != nil {
		p.t.Fatal(err)
	}
}

// fill gives a slot an address and makes it ready, as the controller does:
// the barrier waits until HAProxy uses the address (3.x applies it after
// answering).
func (p *proxy) fill(backend, server string, to netip.AddrPort) []Command {
	return []Command{
		must(SetServerAddr(backend, server, to.Addr(), to.Port())),
		must(AddressBarrier(backend, map[string]netip.AddrPort{server: to})),
		must(SetServerState(backend, server, StateReady)),
	}
}

// query runs a command built by hand, as only tests may.
func (p *proxy) query(text string) string {
	p.t.Helper()
	out, err := p.rt.Query(p.ctx(), Command{text: text, reply: replyOutput})
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// get sends GET / with Host host through HAProxy; status 0 means the
// connection failed.
func (p *proxy) get(host string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(p.httpPort)+"/", nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (p *proxy) mustGet(host string, status int, body string) {
	p.t.Helper()
	gotStatus, gotBody := p.get(host)
	if gotStatus != status || !strings.Contains(gotBody, body) {
		p.t.Fatalf("GET Host %s: got %d %q, want %d containing %q", host, gotStatus, gotBody, status, body)
	}
}

// servedCN returns the subject CN of the certificate served for sni.
func (p *proxy) servedCN(sni string) string {
	p.t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+strconv.Itoa(p.httpsPort),
		&tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		p.t.Fatalf("TLS handshake for %s: %v", sni, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// frontendStatus reads the http frontend's status (OPEN or STOP) from show stat.
func (p *proxy) frontendStatus() string {
	p.t.Helper()
	for _, line := range strings.Split(p.query("show stat"), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 17 && f[0] == "http" && f[1] == "FRONTEND" {
			return f[17]
		}
	}
	p.t.Fatal("no http frontend in show stat")
	return ""
}

func (p *proxy) workers() []Process {
	p.t.Helper()
	procs, err := p.master.Processes(p.ctx())
	if err != nil {
		p.t.Fatal(err)
	}
	return procs
}

func currentWorker(t *testing.T, procs []Process) int {
	t.Helper()
	for _, pr := range procs {
		if pr.Role == "worker" && !pr.Old {
			return pr.PID
		}
	}
	t.Fatalf("no current worker in %+v", procs)
	return 0
}

// backend is a loopback HTTP server that answers "<name> <path>".
func backend(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
}

// must unwraps a constructor whose arguments the test knows are valid.
func must(c Command, err error) Command {
	if err != nil {
		panic(err)
	}
	return c
}

// gone reports whether pid has exited (a zombie left for init counts).
func gone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
