package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/bollard-io/bollard/hack/testcluster/internal/netns"
)

// allocator hands out pod addresses from .10 of the subnet upward. A cursor walks the range
// and wraps, so a freed address is reused only after the others have had their turn.
type allocator struct {
	first, last, next netip.Addr
	used              map[netip.Addr]bool
}

func newAllocator(subnet netip.Prefix) *allocator {
	first := subnet.Masked().Addr()
	for range 10 {
		first = first.Next()
	}
	last := broadcast(subnet).Prev()
	return &allocator{first: first, last: last, next: first, used: map[netip.Addr]bool{}}
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (a *allocator) inRange(ip netip.Addr) bool {
	return ip.Compare(a.first) >= 0 && ip.Compare(a.last) <= 0
}

// reserve marks ip used; it fails when ip is outside the range or taken.
func (a *allocator) reserve(ip netip.Addr) bool {
	if !a.inRange(ip) || a.used[ip] {
		return false
	}
	a.used[ip] = true
	return true
}

func (a *allocator) allocate() (netip.Addr, error) {
	ip := a.next
	for {
		cur := ip
		if ip = ip.Next(); !a.inRange(ip) {
			ip = a.first
		}
		if !a.used[cur] {
			a.used[cur], a.next = true, ip
			return cur, nil
		}
		if ip == a.next {
			return netip.Addr{}, fmt.Errorf("no free pod address between %s and %s", a.first, a.last)
		}
	}
}

func (a *allocator) release(ip netip.Addr) { delete(a.used, ip) }

// backendSpec is what a pod's echo backend is started with.
type backendSpec struct {
	Key       string // namespace/name
	UID       types.UID
	Namespace string
	Pod       string
	Service   string
	Ingress   string
	Port      int
	Env       []string // NAME=value of the Pod's literal ECHO_ env values, in spec order
}

// backend is one running (or exited) echo process.
type backend struct {
	spec     backendSpec
	ip       netip.Addr
	cmd      *exec.Cmd
	started  time.Time
	restarts int32
	ready    bool
	exited   chan struct{}
}

func (b *backend) alive() bool {
	if b.exited == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// backends manages the echo processes inside the network namespace.
type backends struct {
	log     *slog.Logger
	ns      string
	echo    string
	logDir  string
	bits    int
	onExit  func(key string, restarts int32)
	mu      sync.Mutex
	alloc   *allocator
	running map[string]*backend // by pod key
}

func newBackends(log *slog.Logger, ns, echo, logDir string, subnet netip.Prefix, onExit func(string, int32)) *backends {
	return &backends{
		log: log, ns: ns, echo: echo, logDir: logDir, bits: subnet.Bits(), onExit: onExit,
		alloc: newAllocator(subnet), running: map[string]*backend{},
	}
}

// reserve keeps the address of a pod that already has one (after a kubelet restart).
func (m *backends) reserve(ip netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.alloc.reserve(ip)
}

// get returns the backend of a pod key.
func (m *backends) get(key string) *backend {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[key]
}

// ensure makes sure the pod's backend runs: it starts it on a new address (or want, the
// pod's recorded address), or restarts it on the same address when its process died.
func (m *backends) ensure(ctx context.Context, spec backendSpec, want netip.Addr) (*backend, error) {
	m.mu.Lock()
	b := m.running[spec.Key]
	if b != nil && b.spec.UID != spec.UID {
		m.mu.Unlock()
		m.stop(spec.Key)
		m.mu.Lock()
		b = nil
	}
	if b != nil && b.alive() {
		m.mu.Unlock()
		return b, nil
	}
	if b == nil {
		ip := want
		if !ip.IsValid() || !m.alloc.reserve(ip) {
			var err error
			if ip, err = m.alloc.allocate(); err != nil {
				m.mu.Unlock()
				return nil, err
			}
		}
		b = &backend{spec: spec, ip: ip}
		m.running[spec.Key] = b
	}
	restart := b.exited != nil
	m.mu.Unlock()

	err := netns.AddAddr(ctx, m.ns, netip.PrefixFrom(b.ip, m.bits))
	if err == nil {
		err = m.start(b)
	}
	if err != nil {
		if b.exited == nil { // never started: forget it, so that the retry starts afresh
			m.mu.Lock()
			delete(m.running, spec.Key)
			m.alloc.release(b.ip)
			m.mu.Unlock()
		}
		return nil, err
	}
	if restart {
		m.mu.Lock()
		b.restarts++
		m.mu.Unlock()
		m.log.Warn("backend died, restarted", "pod", spec.Key, "ip", b.ip, "restarts", b.restarts)
	}
	b.ready = waitListening(ctx, b, 5*time.Second)
	return b, nil
}

func (m *backends) start(b *backend) error {
	if err := os.MkdirAll(m.logDir, 0o755); err != nil {
		return fmt.Errorf("create backend log dir: %w", err)
	}
	logPath := filepath.Join(m.logDir, b.spec.Namespace+"_"+b.spec.Pod+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open backend log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	listen := net.JoinHostPort(b.ip.String(), strconv.Itoa(b.spec.Port))
	cmd := exec.Command("ip", "netns", "exec", m.ns, m.echo, "--listen", listen,
		"--namespace", b.spec.Namespace, "--pod", b.spec.Pod,
		"--service", b.spec.Service, "--ingress", b.spec.Ingress)
	cmd.Env = backendEnv(os.Environ(), b.spec.Env)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The backend dies with the kubelet; `down` also kills whatever is left in the namespace.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start backend of %s: %w", b.spec.Key, err)
	}
	exited := make(chan struct{})
	b.cmd, b.started, b.exited, b.ready = cmd, time.Now(), exited, false
	m.log.Info("backend started", "pod", b.spec.Key, "ip", b.ip, "port", b.spec.Port, "pid", cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		close(exited)
		m.log.Info("backend exited", "pod", b.spec.Key, "pid", cmd.Process.Pid, "err", err)
		m.mu.Lock()
		restarts := b.restarts
		m.mu.Unlock()
		m.onExit(b.spec.Key, restarts)
	}()
	return nil
}

// backendEnv is the environment of an echo process: the kubelet's own, less any ECHO_
// variable it has (so that only the Pod configures the backend), then the Pod's ECHO_ values.
func backendEnv(base, podEnv []string) []string {
	env := make([]string, 0, len(base)+len(podEnv))
	for _, kv := range base {
		if !strings.HasPrefix(kv, echoEnvPrefix) {
			env = append(env, kv)
		}
	}
	return append(env, podEnv...)
}

// waitListening dials the backend until it accepts connections.
func waitListening(ctx context.Context, b *backend, d time.Duration) bool {
	addr := net.JoinHostPort(b.ip.String(), strconv.Itoa(b.spec.Port))
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && b.alive() {
		var dialer net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := dialer.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			_ = c.Close()
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// stop terminates the backend of key, waits for it and frees its address.
func (m *backends) stop(key string) {
	m.mu.Lock()
	b := m.running[key]
	delete(m.running, key)
	m.mu.Unlock()
	if b == nil {
		return
	}
	if b.cmd != nil && b.alive() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	}
	m.mu.Lock()
	m.alloc.release(b.ip)
	m.mu.Unlock()
	m.log.Info("backend stopped", "pod", key, "ip", b.ip)
}

// keys lists the pods that have a backend.
func (m *backends) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.running))
	for k := range m.running {
		out = append(out, k)
	}
	return out
}

// stopAll stops every backend, for shutdown.
func (m *backends) stopAll() {
	var wg sync.WaitGroup
	for _, k := range m.keys() {
		wg.Go(func() { m.stop(k) })
	}
	wg.Wait()
}
