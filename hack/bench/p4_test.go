package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// runP4 puts load on p4.bench in two modes at once (a new connection per
// request, and kept connections that never retry) while the Service's
// endpoints change every P4Churn (one address swapped, to pods that keep
// running) and a new host with a new Service forces a reload every P4Reload.
func (e *env) runP4(b *framework.Bollard, w *writer) {
	addr := b.Request("", "").Addr
	valid := func(r Reply) bool { return r.Status == 200 && e.isPoolPod(r.Pod) }
	before := b.Reloads(e.t)
	ctx, cancel := context.WithTimeout(e.ctx, e.sz.P4+time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var churned, structural int
	var churnErr, structErr error
	wg.Add(2)
	go func() { // endpoint churn, bounded by count and by stop
		defer wg.Done()
		rng := rand.New(rand.NewPCG(4, 4))
		tick := time.NewTicker(e.sz.P4Churn)
		defer tick.Stop()
		for limit := int(e.sz.P4/e.sz.P4Churn) + 1; churned < limit; {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			next := swapOne(rng, w.cur, len(e.pool))
			if _, err := w.set(ctx, next); err != nil {
				churnErr = err
				return
			}
			churned++
		}
	}()
	go func() { // a new host with a new Service: a reload
		defer wg.Done()
		tick := time.NewTicker(e.sz.P4Reload)
		defer tick.Stop()
		for limit := int(e.sz.P4/e.sz.P4Reload) + 1; structural < limit; {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			name := fmt.Sprintf("p4-new-%d", structural)
			if err := Route(ctx, e.client, e.ns, name, name+".bench", e.pool[structural%len(e.pool)].IP); err != nil {
				structErr = err
				return
			}
			structural++
		}
	}()
	results := make([]LoadResult, 2)
	var lw sync.WaitGroup
	for i, keepAlive := range []bool{false, true} {
		lw.Add(1)
		go func() {
			defer lw.Done()
			results[i] = RunLoad(ctx, LoadOptions{Addr: addr, Hosts: []string{"p4.bench"}, KeepAlive: keepAlive,
				Workers: e.sz.P4Workers, Duration: e.sz.P4, MaxRequests: int64(e.sz.P4.Seconds()*20000) + 1000,
				Timeout: 5 * time.Second, Valid: valid})
		}()
	}
	lw.Wait()
	close(stop)
	wg.Wait()
	// Count the reloads once the last new host is served (its reload done).
	if structural > 0 {
		last := fmt.Sprintf("p4-new-%d", structural-1)
		if _, _, err := timed(ctx, addr, last+".bench", e.pool[(structural-1)%len(e.pool)].Name, time.Minute,
			func(context.Context) error { return nil }); err != nil {
			structErr = err
		}
	}
	reloads := b.Reloads(e.t) - before
	if churnErr != nil || structErr != nil {
		err := fmt.Errorf("churn: %v; structural: %v", churnErr, structErr)
		e.t.Errorf("P4: %v", err)
		e.rep.Fail("P4", "errors under churn", err)
		return
	}
	nc, ka := results[0], results[1]
	e.t.Logf("P4: new-conn %d requests, errors %s; keep-alive %d requests, errors %s; %d endpoint changes, %d new Services, %d reloads",
		nc.Requests, nc.ErrorKinds(), ka.Requests, ka.ErrorKinds(), churned, structural, reloads)
	window := fmt.Sprintf("%s, %d endpoint changes, %d reloads", e.sz.P4, churned, reloads)
	e.rep.Add("P4", fmt.Sprintf("failed requests, new connection per request (%d clients; %s)", e.sz.P4Workers, window), "0",
		fmt.Sprintf("%d of %d (%.0f req/s; %s); p99 %s ms", nc.ErrorCount(), nc.Requests, nc.RPS(), nc.ErrorKinds(), Ms(Summarize(nc.Latencies).P99)),
		Verdict(nc.ErrorCount() == 0))
	perReload := float64(ka.ErrorCount()) / float64(max(reloads, 1))
	e.rep.Add("P4", fmt.Sprintf("failed requests, kept connections, no retry (%d clients; same window)", e.sz.P4Workers), "≤ 1 per reload",
		fmt.Sprintf("%d of %d = %.2f per reload (%.0f req/s; %s); p99 %s ms", ka.ErrorCount(), ka.Requests, perReload, ka.RPS(), ka.ErrorKinds(),
			Ms(Summarize(ka.Latencies).P99)), Verdict(perReload <= 1))
	if nc.Requests == 0 || ka.Requests == 0 || churned == 0 {
		e.t.Errorf("P4 produced no numbers: %d and %d requests, %d changes", nc.Requests, ka.Requests, churned)
	}
}

// swapOne replaces one index of cur with a pool index not in cur.
func swapOne(rng *rand.Rand, cur []int, pool int) []int {
	out := slices.Clone(cur)
	swapIn(rng, out, unusedOf(cur, pool))
	return out
}
