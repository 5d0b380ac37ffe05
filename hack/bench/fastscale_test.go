package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// runFastAtScale runs issue 16's rows with the scale controller b (PID
// pid), which watches every Ingress: P1 with its model time and CPU, P2a
// with P1 beside it, and P6. Each set is bounded by sz.ScaleBudget.
func (e *env) runFastAtScale(b *framework.Bollard, pid, present int) {
	e.fast.SetPresent(SizeScale, present)
	at := fmt.Sprintf(" at %d Ingresses", present)
	addr := b.Request("", "").Addr
	p1, err := e.newRoute("p1-scale", "p1-scale.bench", 0)
	if err == nil {
		err = e.waitServedSet(addr, "p1-scale.bench", []int{0}, time.Minute)
	}
	if err == nil {
		err = settled(b)
	}
	if err != nil {
		e.t.Errorf("P1 at scale: %v", err)
		e.rep.Fail("P1", "endpoint change → served"+at, err)
		e.fast.Set(RowP1, SizeScale, "error: "+oneLine(err.Error()), Failed)
		return
	}
	e.runP1AtScale(b, pid, p1, at)
	e.runP2aAtScale(b, p1, at)

	p6, err := e.newRoute("p6-scale", "p6-scale.bench", 0, 1)
	if err == nil {
		err = e.waitServedSet(addr, "p6-scale.bench", []int{0, 1}, time.Minute)
	}
	if err == nil {
		err = settled(b)
	}
	if err != nil {
		e.t.Errorf("P6 at scale: %v", err)
		e.rep.Fail("P6", "reloads during pure endpoint changes"+at, err)
		e.fast.Set(RowP6, SizeScale, "error: "+oneLine(err.Error()), Failed)
		return
	}
	e.addP6("P6", SizeScale, at, e.measureP6(b, p6, "p6-scale.bench", e.sz.P6Scale, e.sz.ScaleBudget))
}

// settled waits until the reload that a set-up's new Service caused (on
// HAProxy 2.6) is over: at 10k backends its old worker spends about 3 s
// of CPU stopping 10k proxies, which the measured changes would share
// the machine with otherwise.
func settled(b *framework.Bollard) error {
	return b.OldWorkersGone(time.Minute)
}

// runP1AtScale is P1 with the scale controller, with issue 16's targets.
func (e *env) runP1AtScale(b *framework.Bollard, pid int, w *writer, at string) {
	r := e.measureP1(b, pid, "p1-scale.bench", w, e.sz.P1Scale, e.sz.ScaleBudget)
	if r.err != nil {
		e.t.Errorf("P1 at scale: %v", r.err)
		e.rep.Fail("P1", "endpoint change → served"+at, r.err)
		e.fast.Set(RowP1, SizeScale, "error: "+oneLine(r.err.Error()), Failed)
		return
	}
	served, _, fromReturn := p1Summaries(r.samples)
	e.t.Logf("P1%s: %s; reloads %d", at, fromReturn, r.reloads)
	ok := p1Met(fromReturn) && r.reloads == 0
	e.rep.Add("P1", fmt.Sprintf("the same%s (update call returned → served, %d swaps in %s; from the call's start p50/p99 %s/%s ms)",
		at, len(r.samples), r.elapsed.Round(time.Millisecond), Ms(served.P50), Ms(served.P99)), p1Target0,
		fmt.Sprintf("%s; %d reloads", fromReturn, r.reloads), Verdict(ok))
	e.fast.Set(RowP1, SizeScale, fmt.Sprintf("%s; %d reloads", fromReturn.Short(), r.reloads), Verdict(ok))
	e.reportP1Costs("P1", SizeScale, r)
	if r.reloads != 0 || fromReturn.N == 0 {
		e.t.Errorf("P1 at scale: %d samples, %d reloads; want samples and 0 reloads", fromReturn.N, r.reloads)
	}
}

// runP2aAtScale is P2a with P1 beside it on the scale controller. The
// Ingresses it creates are deleted afterwards, so that later phases watch
// the benchmark's namespace as before.
func (e *env) runP2aAtScale(b *framework.Bollard, p1 *writer, at string) {
	addr := b.Request("", "").Addr
	idx := 2 % len(e.pool)
	_, err := e.newRoute("p2a-scale", "p2a-scale.bench", idx)
	if err == nil {
		err = e.waitServedSet(addr, "p2a-scale.bench", []int{idx}, time.Minute)
	}
	if err == nil {
		err = settled(b)
	}
	var r p2aRun
	if err == nil {
		r = e.measureP2a(b, p1, "p1-scale.bench", "p2a-scale", idx, "p2a-scale-", e.sz.P2aScale)
		err = r.err
		e.deleteIngresses(addr, "p2a-scale-")
	}
	if err != nil {
		e.t.Errorf("P2a at scale: %v", err)
		e.rep.Fail("P2a", "new host → existing backend"+at, err)
		e.fast.Set(RowP2a, SizeScale, "error: "+oneLine(err.Error()), Failed)
		return
	}
	e.t.Logf("P2a%s: %s; reloads %d", at, r.lat, r.reloads)
	e.rep.Add("P2a", fmt.Sprintf("Ingress create sent (new host → already-routed Service) → served%s, %d samples", at, r.lat.N),
		"p50 ≤ 100 ms, 0 reloads", fmt.Sprintf("%s; %d reloads", r.lat, r.reloads), Verdict(r.met()))
	e.fast.Set(RowP2a, SizeScale, fmt.Sprintf("%s; %d reloads", r.lat.Short(), r.reloads), Verdict(r.met()))
	if r.p1Err != nil {
		e.t.Errorf("P1 during P2a at scale: %v", r.p1Err)
		e.rep.Fail("P2a", "P1 during P2a"+at, r.p1Err)
		e.fast.Set(RowP1P2a, SizeScale, "error: "+oneLine(r.p1Err.Error()), Failed)
	} else {
		fromSend, _, ps := p1Summaries(r.p1)
		ok := p1Met(ps) && r.reloads == 0
		e.rep.Add("P2a", "P1 running concurrently"+at+" (slice written → served; from the call's start: p50/p99 "+
			Ms(fromSend.P50)+"/"+Ms(fromSend.P99)+" ms)", p1Target0, fmt.Sprintf("%s; %d reloads", ps, r.reloads), Verdict(ok))
		e.fast.Set(RowP1P2a, SizeScale, fmt.Sprintf("%s; %d reloads", ps.Short(), r.reloads), Verdict(ok))
		if ps.N == 0 {
			e.t.Errorf("P1 during P2a at scale produced no samples")
		}
	}
	if r.lat.N != e.sz.P2aScale || r.reloads != 0 {
		e.t.Errorf("P2a at scale: %d samples and %d reloads, want %d and 0", r.lat.N, r.reloads, e.sz.P2aScale)
	}
}

// deleteIngresses deletes the Ingresses of the benchmark's namespace
// whose names start with prefix, and waits until HAProxy (at addr) no
// longer serves their hosts, so that the next measurement does not wait
// for those syncs.
func (e *env) deleteIngresses(addr, prefix string) {
	list, err := e.client.NetworkingV1().Ingresses(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Errorf("list ingresses: %v", err)
		return
	}
	var hosts []string
	for _, ing := range list.Items {
		if !strings.HasPrefix(ing.Name, prefix) {
			continue
		}
		if err := e.client.NetworkingV1().Ingresses(e.ns).Delete(e.ctx, ing.Name, metav1.DeleteOptions{}); err != nil {
			e.t.Errorf("delete ingress %s: %v", ing.Name, err)
			continue
		}
		hosts = append(hosts, ing.Name+".bench")
	}
	err = framework.WaitFor(e.ctx, time.Minute, "deleted hosts no longer served", func(context.Context) (bool, error) {
		for _, h := range hosts {
			if r, err := GetOnce(addr, h, "/", 2*time.Second); err != nil || r.Status == 200 {
				return false, fmt.Errorf("%s: status %d, %v", h, r.Status, err)
			}
		}
		return true, nil
	})
	if err != nil {
		e.t.Errorf("after deleting the %s* Ingresses: %v", prefix, err)
	}
}
