package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/render"
)

// p2bResult is one P2b set: n new apps, one after the other.
type p2bResult struct {
	Present int // Ingresses the controller watched before the first sample
	Lat     Summary
	Reloads int // reloads of HAProxy's master (show proc) across the set
	Err     error
	// Mem and MemAfter are HAProxy's memory at scale: before the first
	// sample and after the last one (once old workers are gone).
	Mem, MemAfter *HAProxyMem
	// Source says where a row of the table by version comes from.
	Source string
}

// p2bSettle is the wait after a P2b set before its reloads are counted.
const p2bSettle = 2 * time.Second

// measureP2b creates n new apps (Service, EndpointSlice to a pool pod,
// Ingress with a new host), one after the other, and measures each from
// its first write to the first answer through HAProxy.
func (e *env) measureP2b(b *framework.Bollard, namespace, label string, n int) *p2bResult {
	addr := b.Request("", "").Addr
	r := &p2bResult{Present: e.ingressCount(namespace)}
	// show proc, not the controller's bollard_reloads_total: that counts a
	// reload once the controller's wait for it ended, which may be after
	// the new worker served the sample.
	before := b.Reloads(e.t)
	var lat []time.Duration
	for i := 0; i < n && r.Err == nil; i++ {
		name := fmt.Sprintf("p2b-%s-%d", label, i)
		host := name + ".bench"
		k := i % len(e.pool)
		var served time.Duration
		served, _, r.Err = timed(e.ctx, addr, host, e.pool[k].Name, 60*time.Second, func(ctx context.Context) error {
			return Route(ctx, e.client, e.ns, name, host, e.pool[k].IP)
		})
		if r.Err == nil {
			lat = append(lat, served)
		}
	}
	r.Lat = Summarize(lat)
	// A reload the set caused after its last sample was served (a sync
	// that follows) counts too.
	time.Sleep(p2bSettle)
	r.Reloads = b.Reloads(e.t) - before
	return r
}

// checkP2b asserts what every P2b set must show: all n samples, and at
// least one reload on an HAProxy that cannot add a backend at runtime (on
// one that can, the reload count is a target of the table, not an
// invariant: the runtime path is new).
func (e *env) checkP2b(label string, r *p2bResult, n int, h HAProxyBinary) {
	if r.Lat.N != n || (!h.Features().RuntimeBackends && r.Reloads < 1) {
		e.t.Errorf("P2b %s on HAProxy %s: %d samples and %d reloads, want %d samples and at least one reload", label, h.Version.Raw, r.Lat.N, r.Reloads, n)
	}
}

// p2bStanding is the suite's P2b target for a size: a reload included.
func (e *env) p2bStanding(scale bool) time.Duration {
	if scale && e.sz.Scale >= 10000 {
		return 3 * time.Second
	}
	return 1500 * time.Millisecond
}

// runP2b measures a P2b set with the suite's controller b and adds its row.
func (e *env) runP2b(b *framework.Bollard, namespace, label string, n int, scale bool) *p2bResult {
	r := e.measureP2b(b, namespace, label, n)
	e.mainP2b[label] = r
	measure := fmt.Sprintf("new Service + EndpointSlice + Ingress (new host) first write → served, %d Ingresses watched", r.Present)
	if r.Err != nil {
		e.t.Errorf("P2b %s: %v", label, r.Err)
		e.rep.Fail("P2b", measure, r.Err)
		return r
	}
	e.t.Logf("P2b at %d Ingresses: %s; %d reloads", r.Present, r.Lat, r.Reloads)
	target, met := P2bTarget(e.hap.Features(), scale, e.p2bStanding(scale))
	e.rep.Add("P2b", measure, target, fmt.Sprintf("%s; %d reloads for %d samples", r.Lat.Short(), r.Reloads, r.Lat.N), Verdict(met(r.Lat.P99, r.Reloads)))
	e.checkP2b(label, r, n, e.hap)
	return r
}

// haproxyMem reads the memory of b's HAProxy once no old worker is left,
// or after wait.
func (e *env) haproxyMem(b *framework.Bollard, wait time.Duration) (*HAProxyMem, error) {
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		m, err := HAProxyMemory(ctx, filepath.Join(b.RuntimeDir, "master.sock"))
		cancel()
		switch {
		case err != nil && time.Now().After(deadline):
			return nil, err
		case err != nil:
			// A master that re-executes itself for a reload answers once it
			// has parsed the config again: seconds at 10k backends.
		case m.Old == 0 || time.Now().After(deadline):
			return &m, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ensureScale loads the cluster to sz.Scale apps, unless it holds them.
func (e *env) ensureScale() error {
	if e.scaleLoaded {
		return nil
	}
	items := ScaleItems("scale", e.sz.Scale, Namespaces("scale", e.sz.ScaleNS), e.sz.PerService, cluster.Subnet)
	if have := e.countScaleApps(); have >= len(items) {
		e.rep.Note("Scale: the cluster already held the %d apps (a reused cluster); no bulk load.", have)
		e.scaleLoaded = true
		return nil
	}
	start := time.Now()
	err := CreateAll(e.ctx, e.client, items, e.sz.Workers, func(done int, elapsed time.Duration) {
		e.t.Logf("bulk load: %d/%d apps after %s (load average %s)", done, len(items), elapsed.Round(time.Second), loadAvg())
	})
	if err != nil {
		return err
	}
	e.rep.Note("Scale: %d apps (Ingress + headless selector-less Service + EndpointSlice with %d endpoints) created through the API in %s with %d concurrent writers.",
		len(items), e.sz.PerService, time.Since(start).Round(time.Second), e.sz.Workers)
	e.scaleLoaded = true
	return nil
}

// runScale loads the cluster to sz.Scale apps, starts a controller on all
// namespaces (P3), then runs the large P2b and reads the reload figures.
func (e *env) runScale() {
	if err := e.ensureScale(); err != nil {
		e.t.Errorf("bulk load: %v", err)
		e.rep.Fail("P3", "bulk load of the cluster", err)
		return
	}
	present := e.ingressCount("")

	t0 := time.Now()
	b := cluster.StartBollard(e.t, framework.BollardOptions{Args: e.bollardArgs()})
	ready := time.Since(t0)
	defer b.Stop(e.t)
	defer e.saveLog(b, "controller-scale.log")
	log := b.Log()
	first, synced := logDurations(firstApplied, log), logDurations(cachesSynced, log)
	pid, err := controllerPID(b)
	if err != nil || len(first) == 0 {
		e.t.Errorf("P3: pid %v, log:\n%s", err, log)
		e.rep.Fail("P3", "controller start", fmt.Errorf("pid: %v; first config line found: %v", err, len(first) > 0))
		return
	}
	cfgSize := fileSize(filepath.Join(b.ConfigDir, render.ConfigFile))
	e.rep.Add("P3", fmt.Sprintf("controller start → first config applied (log), %d Ingresses", present), "",
		fmt.Sprintf("%s (caches synced after %s; /readyz seen after %s)", first[0], firstOr(synced), ready.Round(time.Millisecond)), NoGoal)
	time.Sleep(e.sz.Steady)
	steady, _ := ProcStatusKB(pid, "VmRSS")
	hwm, _ := ProcStatusKB(pid, "VmHWM")
	hapMem, hapErr := e.haproxyMem(b, 5*time.Second)
	e.t.Logf("P3: first config after %s, RSS %d KiB, peak %d KiB; HAProxy %v %v", first[0], steady, hwm, hapMem, hapErr)

	e.runFastAtScale(b, pid, present)

	logBefore := len(b.Log())
	p2b := e.runP2b(b, "", "scale", e.sz.P2b, true)
	reloads := logDurations(reloadTook, b.Log()[logBefore:])
	hapAfter, err := e.haproxyMem(b, e.sz.Steady)
	hapErr = errors.Join(hapErr, err)
	p2b.Mem, p2b.MemAfter = hapMem, hapAfter
	if hapErr != nil {
		e.t.Errorf("HAProxy memory: %v", hapErr)
		e.rep.Fail("P3", "HAProxy RSS", hapErr)
	} else {
		e.rep.Add("P3", fmt.Sprintf("HAProxy RSS at %d Ingresses: master + workers of show proc, VmRSS summed (%s after first config; after the large P2b)", present, e.sz.Steady),
			"", fmt.Sprintf("%s; %s", hapMem, hapAfter), NoGoal)
	}
	hwmEnd, _ := ProcStatusKB(pid, "VmHWM")
	rssEnd, _ := ProcStatusKB(pid, "VmRSS")
	const rssTarget = 250 << 20
	e.rep.Add("P3", "controller peak RSS (VmHWM), start and the large P2b included", "≤ 250 MB",
		fmt.Sprintf("%s (at first config + %s: %s)", MiB(hwmEnd<<10), e.sz.Steady, MiB(hwm<<10)), Verdict(hwmEnd<<10 <= rssTarget))
	e.fastRSS(SizeScale, hwmEnd)
	e.fast.SetPresent(SizeScale, e.ingressCount(""))
	e.rep.Add("P3", fmt.Sprintf("controller steady RSS (VmRSS %s after first config; after the large P2b)", e.sz.Steady), "≤ 250 MB",
		fmt.Sprintf("%s; %s", MiB(steady<<10), MiB(rssEnd<<10)), Verdict(steady<<10 <= rssTarget && rssEnd<<10 <= rssTarget))
	check, checkRSS, err := checkTime(e.hap.Path, b.ConfigDir, 3)
	if err != nil {
		e.t.Errorf("haproxy -c: %v", err)
	}
	syncSum := b.Metric(e.t, "bollard_sync_duration_seconds_sum")
	syncCount := b.Metric(e.t, "bollard_sync_duration_seconds_count")
	e.rep.Add("P2b", fmt.Sprintf("at %d Ingresses: haproxy.cfg size; `haproxy -c` (median of 3, its RSS); reload (controller log, median/max of %d)", present, len(reloads)),
		"", fmt.Sprintf("%s; %s ms, %s; %s / %s ms; mean sync %.0f ms over %.0f syncs", MiB(int64(cfgSize)), Ms(check), MiB(checkRSS),
			Ms(MedianDuration(reloads)), Ms(Summarize(reloads).Max), 1000*syncSum/max(syncCount, 1), syncCount), NoGoal)
}

func firstOr(ds []time.Duration) string {
	if len(ds) == 0 {
		return "?"
	}
	return ds[0].String()
}

// checkTime runs `haproxy -c` (binary bin) on a config dir n times: median
// wall time and the largest RSS.
func checkTime(bin, dir string, n int) (time.Duration, int64, error) {
	var times []time.Duration
	var rss int64
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, "-c", "-q", "-f", filepath.Join(dir, render.ConfigFile))
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		times = append(times, time.Since(t0))
		cancel()
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss<<10)
		}
	}
	return MedianDuration(times), rss, nil
}

var benchLine = regexp.MustCompile(`(?m)^BenchmarkModelAndRender/(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(?:\s+([0-9]+) B/op)?`)

// runRenderBench runs BenchmarkModelAndRender at the scale size.
func (e *env) runRenderBench() {
	args := append([]string{"test", "./pkg/render", "-run", "^$", "-bench", "BenchmarkModelAndRender/" + e.sz.RenderBench + "$"}, e.sz.RenderArgs...)
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = cluster.RepoRoot
	out, err := cmd.CombinedOutput()
	measure := "BenchmarkModelAndRender/" + e.sz.RenderBench + " (`go " + strings.Join(args, " ") + "`)"
	if err != nil {
		e.t.Errorf("render benchmark: %v\n%s", err, out)
		e.rep.Fail("P3", measure, err)
		return
	}
	var ns []float64
	var bytes []string
	for _, m := range benchLine.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		ns = append(ns, v)
		bytes = append(bytes, m[3])
	}
	if len(ns) == 0 {
		e.t.Errorf("render benchmark: no result in\n%s", out)
		e.rep.Fail("P3", measure, fmt.Errorf("no benchmark line"))
		return
	}
	med := time.Duration(MedianFloat(ns))
	alloc := ""
	if b, err := strconv.ParseInt(bytes[0], 10, 64); err == nil {
		alloc = ", " + MiB(b) + "/op"
	}
	e.rep.Add("P3", measure, "≤ 1 s", fmt.Sprintf("%s ms median of %d%s", Ms(med), len(ns), alloc), Verdict(med <= time.Second))
}
