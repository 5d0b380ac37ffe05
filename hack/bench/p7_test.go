package bench

import (
	"context"
	"fmt"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// The annotations P7 changes (docs/annotations.md).
const (
	annResponseHeaders = "bollard.io/response-set-headers"
	annAllowList       = "bollard.io/allow-list"
)

// p7Allowed lets the benchmark's client (127.0.0.1) in; p7Denied does not.
const (
	p7Allowed = "127.0.0.0/8, 10.0.0.0/8"
	p7Denied  = "10.0.0.0/8"
)

// p7Target is the target of both P7 rows: a policy value is a map entry.
const p7Target = "p50 ≤ 100 ms, 0 reloads"

// p7Budget bounds each P7 variant as a whole, beside the count.
const p7Budget = 2 * time.Minute

// policyIngress is the Ingress of p7.bench with its route policies.
type policyIngress struct {
	e   *env
	ing *networkingv1.Ingress
}

// newPolicyRoute creates the Service, slice and Ingress of p7.bench, the
// Ingress with X-Policy: v0 and an allow-list that holds the client.
func (e *env) newPolicyRoute() (*policyIngress, error) {
	if _, err := e.newRoute("p7", "p7.bench", 0); err != nil {
		return nil, err
	}
	ing, err := e.client.NetworkingV1().Ingresses(e.ns).Get(e.ctx, "p7", metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get ingress p7: %w", err)
	}
	p := &policyIngress{e: e, ing: ing}
	// A new header name is a rule of haproxy.cfg (a reload): the controller
	// starts with it, and the row only changes its value.
	if _, err := p.set(e.ctx, map[string]string{annResponseHeaders: PolicyHeader + ": v0", annAllowList: p7Allowed}); err != nil {
		return nil, err
	}
	return p, nil
}

// set writes the Ingress with the annotations changed to ann and returns
// how long the API call took.
func (p *policyIngress) set(ctx context.Context, ann map[string]string) (time.Duration, error) {
	ing := p.ing.DeepCopy()
	if ing.Annotations == nil {
		ing.Annotations = map[string]string{}
	}
	for k, v := range ann {
		ing.Annotations[k] = v
	}
	t0 := time.Now()
	got, err := p.e.client.NetworkingV1().Ingresses(ing.Namespace).Update(ctx, ing, metav1.UpdateOptions{})
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("update ingress %s: %w", ing.Name, err)
	}
	p.ing = got
	return d, nil
}

// phasePolicy runs P7 against a controller of its own that watches only
// the benchmark's namespace.
func (e *env) phasePolicy() {
	t := e.t
	p, err := e.newPolicyRoute()
	if err != nil {
		t.Fatal(err)
	}
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: e.ns, Args: e.bollardArgs()})
	defer b.Stop(t)
	defer e.saveLog(b, "controller-policy.log")
	addr := b.Request("", "").Addr
	// The first answer with v0 means the policy is in effect.
	if _, _, err := timedUntil(e.ctx, addr, "p7.bench", "answered with v0", 30*time.Second,
		func(context.Context) error { return nil }, func(r Reply) bool { return r.Status == 200 && r.Policy == "v0" }); err != nil {
		t.Fatal(err)
	}
	e.runP7(b, p, "header", fmt.Sprintf("response-set-headers `%s: vN` changed → first answer with vN", PolicyHeader),
		func(i int) (map[string]string, string, func(Reply) bool) {
			v := fmt.Sprintf("v%d", i)
			return map[string]string{annResponseHeaders: PolicyHeader + ": " + v}, "answered with " + v,
				func(r Reply) bool { return r.Status == 200 && r.Policy == v }
		})
	e.runP7(b, p, "allow-list", "allow-list changed (the client's 127.0.0.1 out, then in again) → first 403, then first 200",
		func(i int) (map[string]string, string, func(Reply) bool) {
			if i%2 == 1 {
				return map[string]string{annAllowList: p7Denied}, "refused (403)", func(r Reply) bool { return r.Status == 403 }
			}
			return map[string]string{annAllowList: p7Allowed}, "served (200)", func(r Reply) bool { return r.Status == 200 && r.Pod != "" }
		})
}

// runP7 changes p7.bench's policy sz.P7 times back to back, each change
// made once the previous one is in effect; change(i) gives the i-th
// annotations (i from 1), what the answer must show and the check of it.
func (e *env) runP7(b *framework.Bollard, p *policyIngress, variant, measure string, change func(i int) (map[string]string, string, func(Reply) bool)) {
	addr := b.Request("", "").Addr
	before := b.Reloads(e.t)
	start := time.Now()
	var samples []p1Sample // served and call, as P1's
	var err error
	for i := 1; i <= e.sz.P7 && err == nil && time.Since(start) < p7Budget; i++ {
		ann, want, ok := change(i)
		var s p1Sample
		s.served, s.call, err = timedUntil(e.ctx, addr, "p7.bench", want, 10*time.Second, func(ctx context.Context) error {
			_, err := p.set(ctx, ann)
			return err
		}, ok)
		if err == nil {
			samples = append(samples, s)
		} else {
			err = fmt.Errorf("change %d: %w", i, err)
		}
	}
	reloads := b.Reloads(e.t) - before
	if err != nil {
		e.t.Errorf("P7 %s: %v", variant, err)
		e.rep.Fail("P7", measure, err)
		return
	}
	served, call, fromReturn := p1Summaries(samples)
	e.t.Logf("P7 %s: %s; from the call's return %s; API call %s; reloads %d", variant, served, fromReturn, call, reloads)
	e.rep.Add("P7", fmt.Sprintf("%s, counted from the update call's start, %d back-to-back changes (%s)", measure, len(samples), time.Since(start).Round(time.Millisecond)),
		p7Target, fmt.Sprintf("%s; %d reloads (from the call's return: p50 %s, p99 %s ms; the call: p50 %s ms)",
			served, reloads, Ms(fromReturn.P50), Ms(fromReturn.P99), Ms(call.P50)),
		Verdict(served.P50 <= 100*time.Millisecond && reloads == 0))
	if len(samples) != e.sz.P7 {
		e.t.Errorf("P7 %s produced %d samples, want %d (budget %s)", variant, len(samples), e.sz.P7, p7Budget)
	}
	if reloads != 0 {
		e.t.Errorf("P7 %s: %d reloads for policy value changes, want 0", variant, reloads)
	}
}
