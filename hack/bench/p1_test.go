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

func p1Met(s Summary) bool {
	return s.N > 0 && s.P50 <= 10*time.Millisecond && s.P99 <= 25*time.Millisecond
}

// runP1 measures endpoint propagation with the small controller (PID pid).
func (e *env) runP1(b *framework.Bollard, pid int, p1 *writer) {
	r := e.measureP1(b, pid, "p1.bench", p1, e.sz.P1, 0)
	if r.err != nil {
		e.t.Errorf("P1: %v", r.err)
		e.rep.Fail("P1", "endpoint change → served", r.err)
		e.fast.Set(RowP1, SizeSmall, "error: "+oneLine(r.err.Error()), Failed)
		return
	}
	served, call, fromReturn := p1Summaries(r.samples)
	e.t.Logf("P1: %s; API call %s; reloads %d", served, call, r.reloads)
	e.rep.Add("P1", fmt.Sprintf("EndpointSlice written (update call returned) → first answer from the new pod, %d back-to-back swaps", len(r.samples)),
		p1Target, fromReturn.String(), Verdict(p1Met(fromReturn)))
	e.rep.Add("P1", "… counted from the update call's start (API round trip included)", p1Target, served.String(), Verdict(p1Met(served)))
	e.rep.Add("P1", "… the update call itself (API server round trip)", "", call.String(), NoGoal)
	e.rep.Add("P1", "reloads across all P1 swaps", reloads0, fmt.Sprint(r.reloads), Verdict(r.reloads == 0))
	e.fast.Set(RowP1, SizeSmall, fmt.Sprintf("%s; %d reloads", fromReturn.Short(), r.reloads), Verdict(p1Met(fromReturn) && r.reloads == 0))
	e.reportP1Costs("P1", SizeSmall, r)
	if len(r.samples) != e.sz.P1 || served.N == 0 {
		e.t.Errorf("P1 produced %d samples, want %d", len(r.samples), e.sz.P1)
	}
	if r.reloads != 0 {
		e.t.Errorf("P1: %d reloads for pure endpoint changes, want 0", r.reloads)
	}
}

// runP2a creates Ingresses with new hosts to the already-routed Service p2a
// while P1 swaps run beside it.
func (e *env) runP2a(b *framework.Bollard, p1 *writer) {
	r := e.measureP2a(b, p1, "p1.bench", "p2a", 2%len(e.pool), "p2a-", e.sz.P2a)
	if r.err != nil {
		e.t.Errorf("P2a: %v", r.err)
		e.rep.Fail("P2a", "new host → existing backend", r.err)
		e.fast.Set(RowP2a, SizeSmall, "error: "+oneLine(r.err.Error()), Failed)
		return
	}
	e.t.Logf("P2a: %s; reloads %d", r.lat, r.reloads)
	e.rep.Add("P2a", fmt.Sprintf("Ingress create sent (new host → already-routed Service) → served, %d samples", r.lat.N),
		"p50 ≤ 100 ms, 0 reloads", fmt.Sprintf("%s; %d reloads", r.lat, r.reloads), Verdict(r.met()))
	e.fast.Set(RowP2a, SizeSmall, fmt.Sprintf("%s; %d reloads", r.lat.Short(), r.reloads), Verdict(r.met()))
	if r.p1Err != nil {
		e.t.Errorf("P1 during P2a: %v", r.p1Err)
		e.rep.Fail("P2a", "P1 during P2a", r.p1Err)
		e.fast.Set(RowP1P2a, SizeSmall, "error: "+oneLine(r.p1Err.Error()), Failed)
	} else {
		fromSend, _, ps := p1Summaries(r.p1)
		e.rep.Add("P2a", "P1 running concurrently (slice written → served; from the call's start: p50/p99 "+
			Ms(fromSend.P50)+"/"+Ms(fromSend.P99)+" ms)", p1Target, ps.String(), Verdict(p1Met(ps)))
		e.fast.Set(RowP1P2a, SizeSmall, fmt.Sprintf("%s; %d reloads", ps.Short(), r.reloads), Verdict(p1Met(ps) && r.reloads == 0))
		if ps.N == 0 {
			e.t.Errorf("P1 during P2a produced no samples")
		}
	}
	if r.reloads != 0 {
		e.t.Errorf("P2a: %d reloads for new hosts to an existing backend (and endpoint swaps), want 0", r.reloads)
	}
}

// runP6 makes pure endpoint changes back to back on p6.bench.
func (e *env) runP6(b *framework.Bollard, w *writer) {
	e.addP6("P6", SizeSmall, "", e.measureP6(b, w, "p6.bench", e.sz.P6, 0))
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
