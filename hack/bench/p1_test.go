package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// p1Sample is one endpoint swap.
type p1Sample struct {
	served time.Duration // update sent → first answer from the new pod
	call   time.Duration // the update call's round trip
}

// p1Loop swaps the single endpoint of w to the next pool pod, n times back
// to back, each as soon as the previous one is served. It stops early when
// stop is closed.
func (e *env) p1Loop(ctx context.Context, addr, host string, w *writer, n int, stop <-chan struct{}) ([]p1Sample, error) {
	var out []p1Sample
	for i := 0; i < n; i++ {
		select {
		case <-stop:
			return out, nil
		default:
		}
		next := (w.cur[0] + 1) % len(e.pool)
		served, call, err := timed(ctx, addr, host, e.pool[next].Name, 10*time.Second, func(ctx context.Context) error {
			_, err := w.set(ctx, []int{next})
			return err
		})
		if err != nil {
			return out, fmt.Errorf("swap %d: %w", i+1, err)
		}
		out = append(out, p1Sample{served: served, call: call})
	}
	return out, nil
}

func p1Summaries(samples []p1Sample) (served, call, fromReturn Summary) {
	var s, c, r []time.Duration
	for _, x := range samples {
		s, c, r = append(s, x.served), append(c, x.call), append(r, max(x.served-x.call, 0))
	}
	return Summarize(s), Summarize(c), Summarize(r)
}

const (
	p1Target = "p50 ≤ 10 ms, p99 ≤ 25 ms"
	reloads0 = "0 reloads"
)

func p1Met(s Summary) bool {
	return s.N > 0 && s.P50 <= 10*time.Millisecond && s.P99 <= 25*time.Millisecond
}

// runP1 measures endpoint propagation, then P2a with P1 running beside it.
func (e *env) runP1(b *framework.Bollard, p1 *writer) {
	addr := b.Request("", "").Addr
	before := b.Reloads(e.t)
	samples, err := e.p1Loop(e.ctx, addr, "p1.bench", p1, e.sz.P1, nil)
	reloads := b.Reloads(e.t) - before
	if err != nil {
		e.t.Errorf("P1: %v", err)
		e.rep.Fail("P1", "endpoint change → served", err)
		return
	}
	served, call, fromReturn := p1Summaries(samples)
	e.t.Logf("P1: %s; API call %s; reloads %d", served, call, reloads)
	e.rep.Add("P1", fmt.Sprintf("EndpointSlice written (update call returned) → first answer from the new pod, %d back-to-back swaps", len(samples)),
		p1Target, fromReturn.String(), Verdict(p1Met(fromReturn)))
	e.rep.Add("P1", "… counted from the update call's start (API round trip included)", p1Target, served.String(), Verdict(p1Met(served)))
	e.rep.Add("P1", "… the update call itself (API server round trip)", "", call.String(), NoGoal)
	e.rep.Add("P1", "reloads across all P1 swaps", reloads0, fmt.Sprint(reloads), Verdict(reloads == 0))
	if len(samples) != e.sz.P1 || served.N == 0 {
		e.t.Errorf("P1 produced %d samples, want %d", len(samples), e.sz.P1)
	}
	if reloads != 0 {
		e.t.Errorf("P1: %d reloads for pure endpoint changes, want 0", reloads)
	}
}

// runP2a creates Ingresses with new hosts to the already-routed Service p2a
// while P1 swaps run beside it.
func (e *env) runP2a(b *framework.Bollard, p1 *writer) {
	addr := b.Request("", "").Addr
	target := e.pool[2%len(e.pool)].Name
	before := b.Reloads(e.t)
	stop := make(chan struct{})
	type p1Result struct {
		samples []p1Sample
		err     error
	}
	bg := make(chan p1Result, 1)
	go func() {
		s, err := e.p1Loop(e.ctx, addr, "p1.bench", p1, 100_000, stop)
		bg <- p1Result{s, err}
	}()
	var lat []time.Duration
	var err error
	for i := 0; i < e.sz.P2a && err == nil; i++ {
		name := fmt.Sprintf("p2a-%d", i)
		host := name + ".bench"
		var served time.Duration
		served, _, err = timed(e.ctx, addr, host, target, 30*time.Second, func(ctx context.Context) error {
			_, err := e.client.NetworkingV1().Ingresses(e.ns).Create(ctx, Ingress(e.ns, name, host, "p2a"), metaCreate)
			return err
		})
		lat = append(lat, served)
	}
	close(stop)
	bgRes := <-bg
	reloads := b.Reloads(e.t) - before
	if err != nil {
		e.t.Errorf("P2a: %v", err)
		e.rep.Fail("P2a", "new host → existing backend", err)
		return
	}
	s := Summarize(lat)
	e.t.Logf("P2a: %s; reloads %d", s, reloads)
	e.rep.Add("P2a", fmt.Sprintf("Ingress create sent (new host → already-routed Service) → served, %d samples", s.N),
		"p50 ≤ 100 ms, 0 reloads", fmt.Sprintf("%s; %d reloads", s, reloads), Verdict(s.P50 <= 100*time.Millisecond && reloads == 0))
	if bgRes.err != nil {
		e.t.Errorf("P1 during P2a: %v", bgRes.err)
		e.rep.Fail("P2a", "P1 during P2a", bgRes.err)
	} else {
		fromSend, _, ps := p1Summaries(bgRes.samples)
		e.rep.Add("P2a", "P1 running concurrently (slice written → served; from the call's start: p50/p99 "+
			Ms(fromSend.P50)+"/"+Ms(fromSend.P99)+" ms)", p1Target, ps.String(), Verdict(p1Met(ps)))
		if ps.N == 0 {
			e.t.Errorf("P1 during P2a produced no samples")
		}
	}
	if reloads != 0 {
		e.t.Errorf("P2a: %d reloads for new hosts to an existing backend (and endpoint swaps), want 0", reloads)
	}
}

// runP6 makes pure endpoint changes back to back (swap, add or remove one
// address, 1–4 endpoints) without waiting for each, then checks that the
// final set is served and that nothing reloaded.
func (e *env) runP6(b *framework.Bollard, w *writer) {
	addr := b.Request("", "").Addr
	const metric = `bollard_runtime_updates_total{kind="endpoint",result="success"}`
	before, cmdsBefore := b.Reloads(e.t), b.Metric(e.t, metric)
	rng := rand.New(rand.NewPCG(6, 6))
	start := time.Now()
	var calls []time.Duration
	var err error
	for i := 0; i < e.sz.P6 && err == nil; i++ {
		var d time.Duration
		d, err = w.set(e.ctx, mutate(rng, w.cur, len(e.pool), 4))
		calls = append(calls, d)
	}
	elapsed := time.Since(start)
	if err == nil {
		err = e.waitServedSet(addr, "p6.bench", w.cur, 30*time.Second)
	}
	reloads := b.Reloads(e.t) - before
	cmds := b.Metric(e.t, metric) - cmdsBefore
	if err != nil {
		e.t.Errorf("P6: %v", err)
		e.rep.Fail("P6", "reloads during pure endpoint changes", err)
		return
	}
	e.t.Logf("P6: %d changes in %s, %d reloads, %.0f endpoint commands", e.sz.P6, elapsed.Round(time.Millisecond), reloads, cmds)
	e.rep.Add("P6", fmt.Sprintf("reloads during %d pure endpoint changes (swap/add/remove one of 1–4 endpoints, back to back, %s)",
		e.sz.P6, elapsed.Round(time.Millisecond)), "0", fmt.Sprintf("%d (final set served; %.0f runtime endpoint commands; API call %s)",
		reloads, cmds, Summarize(calls).Short()), Verdict(reloads == 0))
	if reloads != 0 {
		e.t.Errorf("P6: %d reloads for pure endpoint changes, want 0", reloads)
	}
}

// mutate swaps, adds or removes one pool index of cur, keeping 1..most.
func mutate(rng *rand.Rand, cur []int, pool, most int) []int {
	out := slices.Clone(cur)
	unused := unusedOf(cur, pool)
	op := rng.IntN(3)
	switch {
	case op == 0 && len(out) < most && len(unused) > 0: // add
		out = append(out, unused[rng.IntN(len(unused))])
	case op == 1 && len(out) > 1: // remove
		i := rng.IntN(len(out))
		out = append(out[:i], out[i+1:]...)
	default:
		swapIn(rng, out, unused)
	}
	return out
}

// unusedOf lists the pool indexes that are not in cur.
func unusedOf(cur []int, pool int) []int {
	var unused []int
	for k := 0; k < pool; k++ {
		if !slices.Contains(cur, k) {
			unused = append(unused, k)
		}
	}
	return unused
}

// swapIn replaces a random element of out with a random one of unused,
// if there is one.
func swapIn(rng *rand.Rand, out, unused []int) {
	if len(unused) > 0 {
		out[rng.IntN(len(out))] = unused[rng.IntN(len(unused))]
	}
}
