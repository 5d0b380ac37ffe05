package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// P5Options configure the data-path comparison: the same hosts, backends and
// servers behind HAProxy with Bollard's generated config (A) and with a
// hand-written minimal one (B), in turns A B A B on the same binary.
type P5Options struct {
	BinDir            string // bin/bollard and bin/echo
	HAProxy           string
	Wrk               string // "" uses the Go load generator instead
	Hosts             int
	Echoes            int // loopback echo processes (127.0.1.1 upward)
	ServersPerBackend int
	Rounds            int
	Turn              time.Duration
	Threads, Conns    int
	Dir               string
	Logf              func(format string, args ...any)
}

// P5Turn is one measured turn.
type P5Turn struct {
	Config    string // "bollard" or "hand"
	RPS       float64
	P50, P99  time.Duration
	Errors    int64
	CPUPerReq time.Duration // HAProxy's user+system CPU per request
}

// P5Result holds every turn.
type P5Result struct {
	Tool         string
	Turns        []P5Turn
	BollardBytes int
	HandBytes    int
}

// Ratio is the median, over rounds, of the generated config's requests/s
// divided by the hand-written one's in the same round: turns next to each
// other share the machine's load of the moment.
func (r P5Result) Ratio() float64 {
	var ratios []float64
	var a float64
	for _, t := range r.Turns {
		switch {
		case t.Config == "bollard":
			a = t.RPS
		case a > 0 && t.RPS > 0:
			ratios = append(ratios, a/t.RPS)
			a = 0
		}
	}
	return MedianFloat(ratios)
}

// Medians returns the median requests/s, p99 and CPU per request of one config.
func (r P5Result) Medians(config string) (rps float64, p99, cpu time.Duration) {
	var rs []float64
	var ps, cs []time.Duration
	for _, t := range r.Turns {
		if t.Config == config {
			rs, ps, cs = append(rs, t.RPS), append(ps, t.P99), append(cs, t.CPUPerReq)
		}
	}
	return MedianFloat(rs), MedianDuration(ps), MedianDuration(cs)
}

type p5Env struct {
	o         P5Options
	port      int // the echo port, on every 127.0.1.x
	httpPort  int
	hosts     []string
	servers   [][]int // per backend: indexes of echo processes
	bollard   string  // config dirs
	hand      string
	processes []*proc
}

// RunP5 runs the comparison; every process it starts is stopped before it returns.
func RunP5(ctx context.Context, o P5Options) (res P5Result, err error) {
	e := &p5Env{o: o}
	defer func() { err = errors.Join(err, e.stopAll()) }()
	if e.port, err = freePort(); err != nil {
		return res, err
	}
	if e.httpPort, err = freePort(); err != nil {
		return res, err
	}
	for i := 0; i < o.Hosts; i++ {
		e.hosts = append(e.hosts, fmt.Sprintf("host-%d.p5.bench", i))
		var s []int
		for k := 0; k < o.ServersPerBackend; k++ {
			s = append(s, (i+k)%o.Echoes)
		}
		e.servers = append(e.servers, s)
	}
	for k := 0; k < o.Echoes; k++ {
		addr := net.JoinHostPort(echoAddr(k), strconv.Itoa(e.port))
		if _, err := e.start(fmt.Sprintf("echo-%d", k), filepath.Join(o.BinDir, "echo"), "--listen", addr,
			"--pod", fmt.Sprintf("p5-echo-%d", k), "--service", "p5"); err != nil {
			return res, err
		}
		if err := WaitTCP(addr, 10*time.Second); err != nil {
			return res, err
		}
	}
	if err := e.renderBollard(ctx); err != nil {
		return res, err
	}
	if err := e.writeHand(); err != nil {
		return res, err
	}
	res.BollardBytes, res.HandBytes = fileSize(filepath.Join(e.bollard, "haproxy.cfg")), fileSize(filepath.Join(e.hand, "haproxy.cfg"))
	res.Tool = "wrk"
	if o.Wrk == "" {
		res.Tool = "Go load generator (wrk not installed)"
	}
	for round := 0; round < o.Rounds; round++ {
		for _, config := range []string{"bollard", "hand"} {
			turn, err := e.turn(ctx, config, round == 0)
			if err != nil {
				return res, fmt.Errorf("%s turn %d: %w", config, round+1, err)
			}
			o.Logf("P5 turn %d %s: %.0f req/s, p99 %s ms, %s µs CPU/request", round+1, config, turn.RPS, Ms(turn.P99),
				strconv.FormatFloat(float64(turn.CPUPerReq)/1e3, 'f', 1, 64))
			res.Turns = append(res.Turns, turn)
		}
	}
	return res, nil
}

func echoAddr(k int) string { return fmt.Sprintf("127.0.1.%d", k+1) }

// renderBollard writes the objects and runs `bollard render --output-dir`.
func (e *p5Env) renderBollard(ctx context.Context) error {
	var b strings.Builder
	for i, h := range e.hosts {
		svc := fmt.Sprintf("svc-%d", i)
		fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing-%d, namespace: p5}\n"+
			"spec:\n  rules:\n  - host: %s\n    http:\n      paths:\n"+
			"      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}\n---\n", i, h, svc)
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: p5}\n"+
			"spec:\n  ports: [{name: http, port: 80, targetPort: %d}]\n---\n", svc, e.port)
		fmt.Fprintf(&b, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: %s-1\n  namespace: p5\n"+
			"  labels: {kubernetes.io/service-name: %s, endpointslice.kubernetes.io/managed-by: %s}\n"+
			"addressType: IPv4\nports: [{name: http, port: %d, protocol: TCP}]\nendpoints:\n", svc, svc, ManagedBy, e.port)
		for _, k := range e.servers[i] {
			fmt.Fprintf(&b, "- {addresses: [%q], conditions: {ready: true}}\n", echoAddr(k))
		}
		b.WriteString("---\n")
	}
	objects := filepath.Join(e.o.Dir, "objects.yaml")
	if err := os.WriteFile(objects, []byte(b.String()), 0o644); err != nil {
		return err
	}
	e.bollard = filepath.Join(e.o.Dir, "bollard")
	run := filepath.Join(e.o.Dir, "bollard-run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		return err
	}
	httpsPort, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.o.BinDir, "bollard"), "render", "-f", objects,
		"--output-dir", e.bollard, "--runtime-dir", run, "--bind-address", "127.0.0.1",
		"--http-port", strconv.Itoa(e.httpPort), "--https-port", strconv.Itoa(httpsPort), "--stats-port", "0",
		"--endpoint-cidrs", "127.0.0.0/8") // the echo servers listen on loopback (echoAddr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bollard render: %w: %s", err, out)
	}
	if len(strings.TrimSpace(string(out))) > 0 {
		return fmt.Errorf("bollard render reported problems: %s", out)
	}
	return nil
}

// writeHand writes the hand-written minimal config: one map lookup of the
// host, and one backend with the same servers per host.
func (e *p5Env) writeHand() error {
	e.hand = filepath.Join(e.o.Dir, "hand")
	if err := os.MkdirAll(e.hand, 0o755); err != nil {
		return err
	}
	var m, c strings.Builder
	mapFile := filepath.Join(e.hand, "hosts.map")
	fmt.Fprintf(&c, "global\n  log stderr local0 err\n\ndefaults\n  mode http\n  timeout connect 5s\n"+
		"  timeout client 60s\n  timeout server 60s\n\nfrontend http\n  bind 127.0.0.1:%d\n"+
		"  use_backend %%[req.hdr(host),lower,map_str(%s)]\n  default_backend not_found\n\n"+
		"backend not_found\n  http-request return status 404\n", e.httpPort, mapFile)
	for i, h := range e.hosts {
		fmt.Fprintf(&m, "%s be_%d\n", h, i)
		fmt.Fprintf(&c, "\nbackend be_%d\n", i)
		for j, k := range e.servers[i] {
			fmt.Fprintf(&c, "  server s%d %s:%d\n", j+1, echoAddr(k), e.port)
		}
	}
	if err := os.WriteFile(mapFile, []byte(m.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.hand, "haproxy.cfg"), []byte(c.String()), 0o644)
}

// turn starts HAProxy with one config, checks every host on the first
// turn, warms up, measures and stops HAProxy.
func (e *p5Env) turn(ctx context.Context, config string, verify bool) (P5Turn, error) {
	dir := e.bollard
	if config == "hand" {
		dir = e.hand
	}
	hap, err := e.start("haproxy-"+config, e.o.HAProxy, "-W", "-f", filepath.Join(dir, "haproxy.cfg"))
	if err != nil {
		return P5Turn{}, err
	}
	defer e.stop(hap)
	addr := "127.0.0.1:" + strconv.Itoa(e.httpPort)
	if err := WaitTCP(addr, 15*time.Second); err != nil {
		return P5Turn{}, err
	}
	if verify {
		for i, h := range e.hosts {
			r, err := GetOnce(addr, h, "/", 5*time.Second)
			if err != nil {
				return P5Turn{}, fmt.Errorf("host %s: %w", h, err)
			}
			if r.Status != 200 || !e.servedBy(i, r.Pod) {
				return P5Turn{}, fmt.Errorf("host %s answered %d by %q, want one of its own servers", h, r.Status, r.Pod)
			}
		}
	}
	warm := min(2*time.Second, e.o.Turn/2+time.Second)
	if _, err := e.load(ctx, addr, warm); err != nil {
		return P5Turn{}, fmt.Errorf("warm-up: %w", err)
	}
	cpu0, err := ProcessCPU(hap.cmd.Process.Pid)
	if err != nil {
		return P5Turn{}, err
	}
	t, err := e.load(ctx, addr, e.o.Turn)
	if err != nil {
		return P5Turn{}, err
	}
	cpu1, err := ProcessCPU(hap.cmd.Process.Pid)
	if err != nil {
		return P5Turn{}, err
	}
	t.Config = config
	if t.RPS > 0 {
		t.CPUPerReq = time.Duration(float64(cpu1-cpu0) / (t.RPS * e.o.Turn.Seconds()))
	}
	return t, nil
}

func (e *p5Env) servedBy(backend int, pod string) bool {
	for _, k := range e.servers[backend] {
		if pod == fmt.Sprintf("p5-echo-%d", k) {
			return true
		}
	}
	return false
}

// loadPath is what the load asks for: bin/echo answers /health with a fixed
// "ok", while its JSON answer to other paths echoes the request headers, so
// that the X-Forwarded-* headers of the generated config would make every
// answer longer and cost the backend and the client, not the proxy, more.
const loadPath = "/health"

// load runs wrk (or the Go load generator) for d.
func (e *p5Env) load(ctx context.Context, addr string, d time.Duration) (P5Turn, error) {
	if e.o.Wrk != "" {
		r, _, err := RunWrk(ctx, e.o.Wrk, "http://"+addr+"/", WrkScript(loadPath, e.hosts), e.o.Threads, e.o.Conns, d)
		if err != nil {
			return P5Turn{}, err
		}
		return P5Turn{RPS: r.RPS, P50: r.P50, P99: r.P99, Errors: r.Non2xx + r.SocketErrors}, nil
	}
	r := RunLoad(ctx, LoadOptions{Addr: addr, Hosts: e.hosts, Path: loadPath, KeepAlive: true, Workers: e.o.Conns,
		Duration: d, MaxRequests: 50_000_000, Timeout: 5 * time.Second})
	s := Summarize(r.Latencies)
	return P5Turn{RPS: r.RPS(), P50: s.P50, P99: s.P99, Errors: r.ErrorCount()}, nil
}

// proc is a process this benchmark started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs a process of ours with its output in Dir/NAME.log.
func (e *p5Env) start(name, bin string, args ...string) (*proc, error) {
	log, err := os.Create(filepath.Join(e.o.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(p.done) }()
	e.processes = append(e.processes, p)
	return p, nil
}

// stop ends one process we started, by its PID (SIGTERM, then SIGKILL after
// 10 s), and waits for its children (HAProxy's workers) to be gone too.
func (e *p5Env) stop(p *proc) {
	for i, q := range e.processes {
		if q == p {
			e.processes = append(e.processes[:i], e.processes[i+1:]...)
			break
		}
	}
	children := Children(p.cmd.Process.Pid)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	for _, c := range children {
		WaitGone(c, 10*time.Second)
	}
}

func (e *p5Env) stopAll() error {
	for len(e.processes) > 0 {
		e.stop(e.processes[len(e.processes)-1])
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileSize(path string) int {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return int(st.Size())
}
