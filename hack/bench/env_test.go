package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
)

// pod is an echo pod of the pool.
type pod struct {
	Name string
	IP   netip.Addr
}

// env is what the measurements share.
type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface // no client-side rate limit
	ns     string
	pool   []pod
	sz     sizes
	rep    *Report
	fast   *FastTable // issue 16's rows at both sizes
	loads  []string   // load average at the start of each phase
	// hap is the HAProxy of the suite: $HAPROXY_BIN, else the haproxy on
	// PATH. Every controller runs it (--haproxy-binary), and so do
	// `haproxy -c` and P5.
	hap HAProxyBinary
	// mainP2b holds the suite's own P2b results by size ("small",
	// "scale"), which the table by HAProxy version reuses for hap.
	mainP2b map[string]*p2bResult
	// scaleLoaded is set once the cluster holds the sz.Scale apps.
	scaleLoaded bool
}

// bollardArgs are the controller flags that select e.hap.
func (e *env) bollardArgs() []string {
	return []string{"--haproxy-binary", e.hap.Path}
}

// phaseStart records the machine's load average as a phase begins.
func (e *env) phaseStart(name string) {
	l := loadAvg()
	e.loads = append(e.loads, name+" "+l)
	e.t.Logf("phase %s: load average %s", name, l)
}

func newEnv(t *testing.T, sz sizes, rep *Report) *env {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: the benchmark bounds itself
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hapPath, err := haproxytest.BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	hap, err := ProbeHAProxy(hapPath)
	if err != nil {
		t.Fatal(err)
	}
	cluster.EnsureIngressClass(t)
	e := &env{t: t, ctx: context.Background(), client: client, sz: sz, rep: rep, fast: NewFastTable(), hap: hap, mainP2b: map[string]*p2bResult{}}
	e.ns = cluster.CreateNamespace(t, "bench")
	return e
}

// startPool runs the echo Deployment "pool" and reads its pods' addresses.
func (e *env) startPool() error {
	dep := framework.EchoDeployment(e.ns, "pool", int32(e.sz.Pool), EchoPort)
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, dep, metav1.CreateOptions{}); err != nil {
		return err
	}
	err := framework.WaitFor(e.ctx, 2*time.Minute, "ready pool pods", func(ctx context.Context) (bool, error) {
		list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=pool"})
		if err != nil {
			return false, err
		}
		e.pool = e.pool[:0]
		for _, p := range list.Items {
			ip, err := netip.ParseAddr(p.Status.PodIP)
			if err != nil || p.DeletionTimestamp != nil || !podReady(&p) {
				continue
			}
			e.pool = append(e.pool, pod{Name: p.Name, IP: ip})
		}
		return len(e.pool) == e.sz.Pool, fmt.Errorf("%d of %d pods ready", len(e.pool), e.sz.Pool)
	})
	if err != nil {
		return err
	}
	slices.SortFunc(e.pool, func(a, b pod) int { return a.IP.Compare(b.IP) })
	for _, p := range e.pool {
		r, err := GetOnce(netip.AddrPortFrom(p.IP, EchoPort).String(), "pool", "/", 5*time.Second)
		if err != nil || r.Pod != p.Name {
			return fmt.Errorf("pod %s at %s: answered %q, %v", p.Name, p.IP, r.Pod, err)
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (e *env) addrs(idx []int) []netip.Addr {
	out := make([]netip.Addr, len(idx))
	for i, k := range idx {
		out[i] = e.pool[k].IP
	}
	return out
}

func (e *env) isPoolPod(name string) bool {
	return slices.ContainsFunc(e.pool, func(p pod) bool { return p.Name == name })
}

// writer owns the EndpointSlice of one selector-less Service.
type writer struct {
	e     *env
	slice *discoveryv1.EndpointSlice
	cur   []int // pool indexes in the slice
}

// newRoute creates a Service with a slice of pool pods idx and an Ingress
// for host, and returns the slice's writer.
func (e *env) newRoute(name, host string, idx ...int) (*writer, error) {
	if err := Route(e.ctx, e.client, e.ns, name, host, e.addrs(idx)...); err != nil {
		return nil, err
	}
	s, err := e.client.DiscoveryV1().EndpointSlices(e.ns).Get(e.ctx, name+"-bench", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return &writer{e: e, slice: s, cur: slices.Clone(idx)}, nil
}

// set writes the slice with pool pods idx and returns how long the API
// call took.
func (w *writer) set(ctx context.Context, idx []int) (time.Duration, error) {
	s := w.slice.DeepCopy()
	SetEndpoints(s, w.e.addrs(idx)...)
	t0 := time.Now()
	got, err := w.e.client.DiscoveryV1().EndpointSlices(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("update endpointslice %s: %w", s.Name, err)
	}
	w.slice, w.cur = got, slices.Clone(idx)
	return d, nil
}

// timed starts write in the background and polls host through HAProxy
// every millisecond until pod answers. The latency counts from just before
// write started; call is how long write itself took. The polls share a
// kept connection (HAProxy balances every request anew; a Connection:
// close from a stopping worker makes the next poll dial the new one): a
// new connection per millisecond cost the machine more than the change
// being measured.
func timed(ctx context.Context, addr, host, podName string, timeout time.Duration, write func(context.Context) error) (served, call time.Duration, err error) {
	return timedUntil(ctx, addr, host, "served by "+podName, timeout, write, func(r Reply) bool {
		return r.Status == 200 && r.Pod == podName
	})
}

// timedUntil is timed with any condition on the answer; want names it in
// errors.
func timedUntil(ctx context.Context, addr, host, want string, timeout time.Duration, write func(context.Context) error, ok func(Reply) bool) (served, call time.Duration, err error) {
	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result, 1)
	t0 := time.Now()
	go func() {
		err := write(ctx)
		done <- result{time.Since(t0), err}
	}()
	deadline := t0.Add(timeout)
	next := t0
	var last string
	ka := &KeepAlive{Addr: addr, Timeout: time.Second}
	defer ka.Close()
	for {
		r, err := ka.Get(host, "/")
		if err == nil && ok(r) {
			served = time.Since(t0)
			break
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("status %d from %q", r.Status, r.Pod)
		}
		if time.Now().After(deadline) {
			res := <-done
			return 0, res.d, fmt.Errorf("%s not %s within %s (write: %v; last: %s)", host, want, timeout, res.err, last)
		}
		next = next.Add(time.Millisecond)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else {
			next = time.Now()
		}
	}
	res := <-done
	return served, res.d, res.err
}

// waitServedSet waits until host is served by exactly the pods idx.
func (e *env) waitServedSet(addr, host string, idx []int, timeout time.Duration) error {
	want := map[string]bool{}
	for _, k := range idx {
		want[e.pool[k].Name] = true
	}
	return framework.WaitFor(e.ctx, timeout, host+" served by exactly its endpoints", func(context.Context) (bool, error) {
		seen := map[string]bool{}
		for i := 0; i < 6*len(idx)+4; i++ {
			r, err := GetOnce(addr, host, "/", 2*time.Second)
			if err != nil {
				return false, err
			}
			if r.Status != 200 || !want[r.Pod] {
				return false, fmt.Errorf("answered %d by %q, want one of %v", r.Status, r.Pod, want)
			}
			seen[r.Pod] = true
		}
		return len(seen) == len(want), fmt.Errorf("saw %d of %d pods", len(seen), len(want))
	})
}

// controllerPID finds the PID of a framework-started controller by its
// unique --config-dir.
func controllerPID(b *framework.Bollard) (int, error) {
	bin := filepath.Join(cluster.BinDir, "bollard")
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if len(args) < 2 || args[0] != bin || args[1] != "controller" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--config-dir" && args[i+1] == b.ConfigDir {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no controller process with --config-dir %s", b.ConfigDir)
}

var (
	firstApplied = regexp.MustCompile(`msg="first config applied" after=(\S+)`)
	cachesSynced = regexp.MustCompile(`msg="caches synced" after=(\S+)`)
	reloadTook   = regexp.MustCompile(`msg="reloaded HAProxy".* took=(\S+)`)
)

// logDurations returns every duration re captures in log.
func logDurations(re *regexp.Regexp, log string) []time.Duration {
	var out []time.Duration
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// ingressCount counts the Ingresses of namespace ("" for all).
func (e *env) ingressCount(namespace string) int {
	list, err := e.client.NetworkingV1().Ingresses(namespace).List(e.ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return -1
	}
	return len(list.Items)
}

var metaCreate = metav1.CreateOptions{}

// saveLog copies a controller's log into -bench.logs, if given.
func (e *env) saveLog(b *framework.Bollard, name string) {
	if *logDir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*logDir, name), []byte(b.Log()), 0o644); err != nil {
		e.t.Errorf("save log: %v", err)
	}
}

// loadAvg is the first field of /proc/loadavg.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// createFillers creates the Ingresses (with their Services and slices)
// that the namespace-scoped controllers watch beside the benchmark's own;
// those that exist are left as they are.
func (e *env) createFillers() error {
	fillers := ScaleItems("fill", e.sz.Fillers, []string{e.ns}, e.sz.PerService, cluster.Subnet)
	return CreateAll(e.ctx, e.client, fillers, e.sz.Workers, nil)
}

// countScaleApps counts the Ingresses of the scale namespaces (a reused
// cluster may hold them from an earlier run).
func (e *env) countScaleApps() int {
	list, err := e.client.NetworkingV1().Ingresses("").List(e.ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0
	}
	n := 0
	for _, ing := range list.Items {
		if strings.HasPrefix(ing.Namespace, "scale-") {
			n++
		}
	}
	return n
}
