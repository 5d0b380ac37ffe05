package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// p1Settle is the wait after a P1 set before the controller's log and CPU
// are read: the last swap's log line and background work (the files)
// come after its answer.
const p1Settle = 500 * time.Millisecond

// p1Run is one P1 set and what the controller spent on it.
type p1Run struct {
	samples []p1Sample
	reloads int
	builds  []time.Duration // model build of each sync without reload (log)
	paths   map[string]int  // model_path= counts, when the log has them
	cpu     time.Duration   // controller utime+stime across the set
	cpuErr  error
	elapsed time.Duration
	err     error
}

// measureP1 swaps w's endpoint n times back to back, or until budget (if
// not 0) has passed, and reads the log and CPU time of the controller
// (PID pid) across the swaps.
func (e *env) measureP1(b *framework.Bollard, pid int, host string, w *writer, n int, budget time.Duration) p1Run {
	addr := b.Request("", "").Addr
	logBefore := len(b.Log())
	cpu0, cpuErr := cpuOf(pid)
	before := b.Reloads(e.t)
	stop := make(chan struct{})
	if budget > 0 {
		timer := time.AfterFunc(budget, func() { close(stop) })
		defer timer.Stop()
	}
	var r p1Run
	t0 := time.Now()
	r.samples, r.err = e.p1Loop(e.ctx, addr, host, w, n, stop)
	r.elapsed = time.Since(t0)
	time.Sleep(p1Settle)
	cpu1, err := cpuOf(pid)
	r.cpu, r.cpuErr = cpu1-cpu0, errors.Join(cpuErr, err)
	r.reloads = b.Reloads(e.t) - before
	r.builds, r.paths = AppliedBuilds(b.Log()[logBefore:])
	return r
}

// reportP1Costs adds the rows of what the controller spent per endpoint
// change in P1: model time (log) and CPU.
func (e *env) reportP1Costs(id, size string, r p1Run) {
	at := ""
	if size == SizeScale {
		at = " at scale"
	}
	builds := Summarize(r.builds)
	if builds.N == 0 {
		err := fmt.Errorf("no `msg=applied` line with build= in the controller's log across %d swaps", len(r.samples))
		e.t.Errorf("P1%s model time: %v", at, err)
		e.rep.Fail(id, "model time per endpoint change"+at, err)
		e.fast.Set(RowModel, size, "error: "+err.Error(), Failed)
	} else {
		m := fmt.Sprintf("p50 %s, p99 %s, max %s ms (%d syncs for %d swaps)", Ms(builds.P50), Ms(builds.P99), Ms(builds.Max), builds.N, len(r.samples))
		if pc := PathCounts(r.paths); pc != "" {
			m += "; model_path " + pc
		}
		e.rep.Add(id, "model time per endpoint change"+at+" (controller log `msg=applied build=`, syncs without reload during P1)", "p99 ≤ 1 ms", m, Verdict(builds.P99 <= time.Millisecond))
		e.fast.Set(RowModel, size, m, Verdict(builds.P99 <= time.Millisecond))
	}
	if r.cpuErr != nil || len(r.samples) == 0 {
		err := fmt.Errorf("cpu: %v; %d swaps", r.cpuErr, len(r.samples))
		e.t.Errorf("P1%s controller CPU: %v", at, err)
		e.rep.Fail(id, "controller CPU per endpoint change"+at, err)
		e.fast.Set(RowCPU, size, "error: "+err.Error(), Failed)
		return
	}
	per := r.cpu / time.Duration(len(r.samples))
	e.rep.Add(id, "controller CPU per endpoint change"+at+" (utime+stime across P1 ÷ swaps, 10 ms ticks)", "report",
		fmt.Sprintf("%s ms (%s ms over %d swaps in %s)", Ms(per), Ms(r.cpu), len(r.samples), r.elapsed.Round(time.Millisecond)), NoGoal)
	e.fast.SetCPU(size, per, len(r.samples), r.cpu)
}

// p2aRun is one P2a set with the P1 swaps that ran beside it.
type p2aRun struct {
	lat     Summary
	reloads int
	err     error
	p1      []p1Sample
	p1Err   error
}

func (r p2aRun) met() bool {
	return r.lat.N > 0 && r.lat.P50 <= 100*time.Millisecond && r.reloads == 0
}

// measureP2a creates n Ingresses prefix0… with new hosts to the routed
// Service svc (served by pool pod svcIdx) while P1 swaps of p1 run on
// p1Host beside them.
func (e *env) measureP2a(b *framework.Bollard, p1 *writer, p1Host, svc string, svcIdx int, prefix string, n int) p2aRun {
	addr := b.Request("", "").Addr
	target := e.pool[svcIdx].Name
	before := b.Reloads(e.t)
	stop := make(chan struct{})
	type p1Result struct {
		samples []p1Sample
		err     error
	}
	bg := make(chan p1Result, 1)
	go func() {
		s, err := e.p1Loop(e.ctx, addr, p1Host, p1, 100_000, stop)
		bg <- p1Result{s, err}
	}()
	var lat []time.Duration
	var err error
	for i := 0; i < n && err == nil; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		host := name + ".bench"
		var served time.Duration
		served, _, err = timed(e.ctx, addr, host, target, 30*time.Second, func(ctx context.Context) error {
			_, err := e.client.NetworkingV1().Ingresses(e.ns).Create(ctx, Ingress(e.ns, name, host, svc), metaCreate)
			return err
		})
		if err == nil {
			lat = append(lat, served)
		}
	}
	close(stop)
	bgRes := <-bg
	return p2aRun{lat: Summarize(lat), reloads: b.Reloads(e.t) - before, err: err, p1: bgRes.samples, p1Err: bgRes.err}
}

// p6Run is one P6 set.
type p6Run struct {
	n       int // changes written
	elapsed time.Duration
	reloads int
	cmds    float64 // runtime endpoint commands
	calls   Summary
	err     error
}

// measureP6 makes up to n pure endpoint changes to w (swap, add or remove
// one address, 1–4 endpoints) back to back without waiting for each,
// stopping early once budget (if not 0) has passed; then waits for host to
// be served by the final set and counts the reloads.
func (e *env) measureP6(b *framework.Bollard, w *writer, host string, n int, budget time.Duration) p6Run {
	addr := b.Request("", "").Addr
	const metric = `bollard_runtime_updates_total{kind="endpoint",result="success"}`
	before, cmdsBefore := b.Reloads(e.t), b.Metric(e.t, metric)
	rng := rand.New(rand.NewPCG(6, 6))
	start := time.Now()
	var calls []time.Duration
	var r p6Run
	for ; r.n < n && r.err == nil && (budget == 0 || time.Since(start) < budget); r.n++ {
		var d time.Duration
		d, r.err = w.set(e.ctx, mutate(rng, w.cur, len(e.pool), 4))
		calls = append(calls, d)
	}
	r.elapsed = time.Since(start)
	if r.err == nil {
		r.err = e.waitServedSet(addr, host, w.cur, time.Minute)
	}
	r.reloads = b.Reloads(e.t) - before
	r.cmds = b.Metric(e.t, metric) - cmdsBefore
	r.calls = Summarize(calls)
	return r
}

// addP6 adds the rows of a P6 set; at names the size in the measure.
func (e *env) addP6(id, size, at string, r p6Run) {
	if r.err != nil {
		e.t.Errorf("P6%s: %v", at, r.err)
		e.rep.Fail(id, "reloads during pure endpoint changes"+at, r.err)
		e.fast.Set(RowP6, size, "error: "+oneLine(r.err.Error()), Failed)
		return
	}
	e.t.Logf("P6%s: %d changes in %s, %d reloads, %.0f endpoint commands", at, r.n, r.elapsed.Round(time.Millisecond), r.reloads, r.cmds)
	e.rep.Add(id, fmt.Sprintf("reloads during %d pure endpoint changes%s (swap/add/remove one of 1–4 endpoints, back to back, %s)",
		r.n, at, r.elapsed.Round(time.Millisecond)), "0", fmt.Sprintf("%d (final set served; %.0f runtime endpoint commands; API call %s)",
		r.reloads, r.cmds, r.calls.Short()), Verdict(r.reloads == 0))
	e.fast.Set(RowP6, size, fmt.Sprintf("%d reloads in %d changes (%s; final set served)", r.reloads, r.n, r.elapsed.Round(time.Millisecond)), Verdict(r.reloads == 0))
	if r.reloads != 0 {
		e.t.Errorf("P6%s: %d reloads for pure endpoint changes, want 0", at, r.reloads)
	}
}
