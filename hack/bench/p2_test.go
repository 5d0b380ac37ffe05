package bench

import (
	"context"
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

// runP2b creates n new apps (Service, EndpointSlice to a pool pod, Ingress
// with a new host), one after the other, and measures each from its first
// write to the first answer through HAProxy. It returns the latencies.
func (e *env) runP2b(b *framework.Bollard, namespace, label string, n int, target time.Duration) {
	addr := b.Request("", "").Addr
	present := e.ingressCount(namespace)
	before := b.Reloads(e.t)
	var lat []time.Duration
	var err error
	for i := 0; i < n && err == nil; i++ {
		name := fmt.Sprintf("p2b-%s-%d", label, i)
		host := name + ".bench"
		k := i % len(e.pool)
		var served time.Duration
		served, _, err = timed(e.ctx, addr, host, e.pool[k].Name, 60*time.Second, func(ctx context.Context) error {
			return Route(ctx, e.client, e.ns, name, host, e.pool[k].IP)
		})
		lat = append(lat, served)
	}
	reloads := b.Reloads(e.t) - before
	measure := fmt.Sprintf("new Service + EndpointSlice + Ingress (new host) first write → served, %d Ingresses watched", present)
	if err != nil {
		e.t.Errorf("P2b %s: %v", label, err)
		e.rep.Fail("P2b", measure, err)
		return
	}
	s := Summarize(lat)
	e.t.Logf("P2b at %d Ingresses: %s; %d reloads", present, s, reloads)
	e.rep.Add("P2b", measure, "p99 ≤ "+strings.TrimSuffix(target.String(), "0ms"),
		fmt.Sprintf("%s; %d reloads for %d samples", s.Short(), reloads, s.N), Verdict(s.P99 <= target))
	if s.N != n || reloads < 1 {
		e.t.Errorf("P2b %s: %d samples and %d reloads, want %d samples and at least one reload", label, s.N, reloads, n)
	}
}

// runScale loads the cluster to sz.Scale apps, starts a controller on all
// namespaces (P3), then runs the large P2b and reads the reload figures.
func (e *env) runScale() {
	items := ScaleItems("scale", e.sz.Scale, Namespaces("scale", e.sz.ScaleNS), e.sz.PerService, cluster.Subnet)
	if have := e.countScaleApps(); have >= len(items) {
		e.rep.Note("Scale: the cluster already held the %d apps (a reused cluster); no bulk load.", have)
	} else {
		start := time.Now()
		err := CreateAll(e.ctx, e.client, items, e.sz.Workers, func(done int, elapsed time.Duration) {
			e.t.Logf("bulk load: %d/%d apps after %s (load average %s)", done, len(items), elapsed.Round(time.Second), loadAvg())
		})
		if err != nil {
			e.t.Errorf("bulk load: %v", err)
			e.rep.Fail("P3", "bulk load of the cluster", err)
			return
		}
		e.rep.Note("Scale: %d apps (Ingress + headless selector-less Service + EndpointSlice with %d endpoints) created through the API in %s with %d concurrent writers.",
			len(items), e.sz.PerService, time.Since(start).Round(time.Second), e.sz.Workers)
	}
	present := e.ingressCount("")

	t0 := time.Now()
	b := cluster.StartBollard(e.t, framework.BollardOptions{})
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
	e.t.Logf("P3: first config after %s, RSS %d KiB, peak %d KiB", first[0], steady, hwm)

	e.runP1AtScale(b, present)

	logBefore := len(b.Log())
	target := 1500 * time.Millisecond
	if e.sz.Scale >= 10000 {
		target = 3 * time.Second
	}
	e.runP2b(b, "", "scale", e.sz.P2b, target)
	reloads := logDurations(reloadTook, b.Log()[logBefore:])
	hwmEnd, _ := ProcStatusKB(pid, "VmHWM")
	rssEnd, _ := ProcStatusKB(pid, "VmRSS")
	const rssTarget = 250 << 20
	e.rep.Add("P3", "controller peak RSS (VmHWM), start and the large P2b included", "≤ 250 MB",
		fmt.Sprintf("%s (at first config + %s: %s)", MiB(hwmEnd<<10), e.sz.Steady, MiB(hwm<<10)), Verdict(hwmEnd<<10 <= rssTarget))
	e.rep.Add("P3", fmt.Sprintf("controller steady RSS (VmRSS %s after first config; after the large P2b)", e.sz.Steady), "≤ 250 MB",
		fmt.Sprintf("%s; %s", MiB(steady<<10), MiB(rssEnd<<10)), Verdict(steady<<10 <= rssTarget && rssEnd<<10 <= rssTarget))
	check, checkRSS, err := checkTime(b.ConfigDir, 3)
	if err != nil {
		e.t.Errorf("haproxy -c: %v", err)
	}
	syncSum := b.Metric(e.t, "bollard_sync_duration_seconds_sum")
	syncCount := b.Metric(e.t, "bollard_sync_duration_seconds_count")
	e.rep.Add("P2b", fmt.Sprintf("at %d Ingresses: haproxy.cfg size; `haproxy -c` (median of 3, its RSS); reload (controller log, median/max of %d)", present, len(reloads)),
		"", fmt.Sprintf("%s; %s ms, %s; %s / %s ms; mean sync %.0f ms over %.0f syncs", MiB(int64(cfgSize)), Ms(check), MiB(checkRSS),
			Ms(MedianDuration(reloads)), Ms(Summarize(reloads).Max), 1000*syncSum/max(syncCount, 1), syncCount), NoGoal)
}

// runP1AtScale repeats P1 with the scale controller, which watches every
// Ingress: the targets are set for P1 alone, this row shows what the
// cluster's size adds (the model is rebuilt on every change).
func (e *env) runP1AtScale(b *framework.Bollard, present int) {
	addr := b.Request("", "").Addr
	w, err := e.newRoute("p1-scale", "p1-scale.bench", 0)
	if err == nil {
		err = e.waitServedSet(addr, "p1-scale.bench", []int{0}, time.Minute)
	}
	if err != nil {
		e.t.Errorf("P1 at scale: %v", err)
		e.rep.Fail("P1", "endpoint change → served at scale", err)
		return
	}
	before := b.Reloads(e.t)
	samples, err := e.p1Loop(e.ctx, addr, "p1-scale.bench", w, e.sz.P1Scale, nil)
	reloads := b.Reloads(e.t) - before
	if err != nil {
		e.t.Errorf("P1 at scale: %v", err)
		e.rep.Fail("P1", "endpoint change → served at scale", err)
		return
	}
	_, _, fromReturn := p1Summaries(samples)
	e.t.Logf("P1 at %d Ingresses: %s; reloads %d", present, fromReturn, reloads)
	e.rep.Add("P1", fmt.Sprintf("the same with %d Ingresses watched (update call returned → served, %d swaps)", present, len(samples)),
		"", fmt.Sprintf("%s; %d reloads", fromReturn, reloads), NoGoal)
	if reloads != 0 || fromReturn.N == 0 {
		e.t.Errorf("P1 at scale: %d samples, %d reloads; want samples and 0 reloads", fromReturn.N, reloads)
	}
}

func firstOr(ds []time.Duration) string {
	if len(ds) == 0 {
		return "?"
	}
	return ds[0].String()
}

// checkTime runs `haproxy -c` on a config dir n times: median wall time and
// the largest RSS.
func checkTime(dir string, n int) (time.Duration, int64, error) {
	var times []time.Duration
	var rss int64
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "haproxy", "-c", "-q", "-f", filepath.Join(dir, render.ConfigFile))
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
