package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestBench runs every measurement and prints one summary table. Without
// -bench.full it is the smoke run of `make test`: tiny sizes, and it fails
// only when a measurement produced no numbers or an invariant broke (a
// reload for pure endpoint changes), never on a timing target.
func TestBench(t *testing.T) {
	framework.Need(t, cluster)
	sz := smokeSizes
	if *fullRun {
		sz = fullSizes
	}
	begin := time.Now()
	rep := &Report{}
	e := newEnv(t, sz, rep)
	rep.Title = fmt.Sprintf("Bollard benchmark (%s run, %s, HAProxy %s)", sz.Name, begin.UTC().Format("2006-01-02 15:04 MST"), e.hap.Version.Raw)
	startLoad := loadAvg()
	defer func() {
		rep.Note("Machine: %d cores (%s), %s, %s, Linux %s; whole run %s; load average (1 min) %s at the start, %s at the end; at the start of each phase: %s.",
			runtime.NumCPU(), cpuModel(), e.hap, runtime.Version(), kernel(), time.Since(begin).Round(time.Second),
			startLoad, loadAvg(), strings.Join(e.loads, ", "))
		e.finishFastTable(sz)
		md := rep.Markdown()
		fmt.Printf("\n%s\n", md)
		if *outFile != "" {
			if err := os.WriteFile(*outFile, []byte(md), 0o644); err != nil {
				t.Error(err)
			}
		}
	}()
	rep.Note("Phases: %s; pod subnet %s.", *phases, cluster.Subnet)
	if err := e.startPool(); err != nil {
		t.Fatalf("echo pool: %v", err)
	}
	t.Logf("pool: %d echo pods ready", len(e.pool))
	for _, p := range []struct {
		name string
		run  func()
	}{{"small", e.phaseSmall}, {"policy", e.phasePolicy}, {"scale", e.runScale}, {"p2b-versions", e.runP2bVersions}, {"render", e.runRenderBench}, {"p5", e.runP5}} {
		if phase(p.name) {
			e.phaseStart(p.name)
			p.run()
		}
	}
}

// phaseSmall runs P1, P2a, P6, P4 and the small P2b against one controller
// that watches only the benchmark's namespace.
func (e *env) phaseSmall() {
	t := e.t
	p1, err := e.newRoute("p1", "p1.bench", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.newRoute("p2a", "p2a.bench", 2%len(e.pool)); err != nil {
		t.Fatal(err)
	}
	p4, err := e.newRoute("p4", "p4.bench", 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	p6, err := e.newRoute("p6", "p6.bench", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.createFillers(); err != nil {
		t.Fatal(err)
	}
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: e.ns, Args: e.bollardArgs()})
	defer b.Stop(t)
	defer e.saveLog(b, "controller-small.log")
	addr := b.Request("", "").Addr
	pid, err := controllerPID(b)
	if err != nil {
		t.Fatal(err)
	}
	e.fast.SetPresent(SizeSmall, e.ingressCount(e.ns))
	for host, idx := range map[string][]int{"p1.bench": {0}, "p2a.bench": {2 % len(e.pool)}, "p4.bench": {0, 1, 2}, "p6.bench": {0, 1}} {
		if err := e.waitServedSet(addr, host, idx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	e.runP1(b, pid, p1)
	e.runP2a(b, p1)
	e.runP6(b, p6)
	e.runP4(b, p4)
	e.runP2b(b, e.ns, "small", e.sz.P2b, false)
	hwm, _ := ProcStatusKB(pid, "VmHWM")
	e.fastRSS(SizeSmall, hwm)
	e.fast.SetPresent(SizeSmall, e.ingressCount(e.ns))
}

// fastRSS records the controller's peak RSS (VmHWM, KiB) in issue 16's
// table.
func (e *env) fastRSS(size string, hwmKiB int64) {
	if hwmKiB <= 0 {
		e.t.Errorf("controller peak RSS at %s: no VmHWM", size)
		e.fast.Set(RowRSS, size, "no VmHWM", Failed)
		return
	}
	e.fast.Set(RowRSS, size, MiB(hwmKiB<<10), Verdict(hwmKiB<<10 <= 250<<20))
}

// finishFastTable adds issue 16's table to the report and fails the run
// when a row of a size that ran has no figures.
func (e *env) finishFastTable(sz sizes) {
	var ran []string
	for _, s := range []struct{ phase, size string }{{"small", SizeSmall}, {"scale", SizeScale}} {
		if phase(s.phase) {
			ran = append(ran, s.size)
		}
	}
	if len(ran) == 0 {
		return
	}
	e.rep.AddTable(e.fast.Table())
	if missing := e.fast.Missing(ran); len(missing) > 0 {
		e.t.Errorf("issue 16 table (%s run): no figures for %s", sz.Name, strings.Join(missing, ", "))
	}
}

// runP5 compares the generated config with a hand-written one.
func (e *env) runP5() {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		if e.sz.P5RequireWrk {
			e.t.Errorf("P5 needs wrk: %v (make bench installs it)", err)
			e.rep.Fail("P5", "data path", err)
			return
		}
		wrk = ""
	}
	o := P5Options{BinDir: cluster.BinDir, HAProxy: e.hap.Path, Wrk: wrk, Hosts: e.sz.P5Hosts, Echoes: e.sz.P5Echoes,
		ServersPerBackend: 2, Rounds: e.sz.P5Rounds, Turn: e.sz.P5Turn, Threads: 2, Conns: e.sz.P5Conns, Dir: e.t.TempDir(), Logf: e.t.Logf}
	res, err := RunP5(e.ctx, o)
	if err != nil {
		e.t.Errorf("P5: %v", err)
		e.rep.Fail("P5", "data path", err)
		return
	}
	rpsA, p99A, cpuA := res.Medians("bollard")
	rpsB, p99B, cpuB := res.Medians("hand")
	ratio := res.Ratio()
	setup := fmt.Sprintf("%d hosts, %d backends × %d servers on %d loopback echo processes; %s -t%d -c%d, %d × %s turns each, A B A B …",
		o.Hosts, o.Hosts, o.ServersPerBackend, o.Echoes, res.Tool, o.Threads, o.Conns, o.Rounds, o.Turn)
	e.rep.Add("P5", "throughput, generated ÷ hand-written config ("+setup+")", "≥ 0.97",
		fmt.Sprintf("%.3f (median of the %d rounds' ratios; medians %.0f vs %.0f req/s)", ratio, o.Rounds, rpsA, rpsB), Verdict(ratio >= 0.97))
	e.rep.Add("P5", "p99 latency, generated / hand-written", "", fmt.Sprintf("%s / %s ms", Ms(p99A), Ms(p99B)), NoGoal)
	e.rep.Add("P5", "HAProxy CPU per request, generated / hand-written", "",
		fmt.Sprintf("%.1f / %.1f µs (haproxy.cfg %d vs %d bytes)", float64(cpuA)/1e3, float64(cpuB)/1e3, res.BollardBytes, res.HandBytes), NoGoal)
	var errs int64
	for _, turn := range res.Turns {
		errs += turn.Errors
	}
	if rpsA == 0 || rpsB == 0 || errs != 0 {
		e.t.Errorf("P5: %.0f and %.0f req/s, %d errors", rpsA, rpsB, errs)
	}
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
