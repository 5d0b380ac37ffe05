package controller

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/bollard-io/bollard/pkg/model"
)

// gatewayStatusWriter writes the status the model computed for the
// Gateway API objects, off the apply loop: only the newest status
// offered is written, and a failed write is tried again.
type gatewayStatusWriter struct {
	client     gatewayclient.Interface
	watcher    gatewayCache
	controller string
	// published returns the addresses of --publish-service or
	// --publish-address, for Gateways without a loopback address.
	published func(ctx context.Context, snap *model.Snapshot) []networkingv1.IngressLoadBalancerIngress
	log       *slog.Logger
	now       func() time.Time

	mu   sync.Mutex
	want *gatewayStatusJob
	wake chan struct{}
}

// gatewayCache reads the informers' copies, which status is written onto
// (watch.Watcher).
type gatewayCache interface {
	GatewayClass(name string) *gatewayv1.GatewayClass
	Gateway(namespace, name string) *gatewayv1.Gateway
	HTTPRoute(namespace, name string) *gatewayv1.HTTPRoute
}

type gatewayStatusJob struct {
	status *model.GatewayStatus
	snap   *model.Snapshot
}

func newGatewayStatusWriter(client gatewayclient.Interface, w gatewayCache, controller string, log *slog.Logger) *gatewayStatusWriter {
	return &gatewayStatusWriter{client: client, watcher: w, controller: controller, log: log, now: time.Now, wake: make(chan struct{}, 1)}
}

// offer replaces the status waiting to be written.
func (g *gatewayStatusWriter) offer(status *model.GatewayStatus, snap *model.Snapshot) {
	if g == nil || status == nil {
		return
	}
	g.mu.Lock()
	g.want = &gatewayStatusJob{status: status, snap: snap}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// run writes offered status until ctx ends.
func (g *gatewayStatusWriter) run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-retry.C:
		}
		g.mu.Lock()
		job := g.want
		g.want = nil
		g.mu.Unlock()
		if job == nil {
			continue
		}
		if err := g.write(ctx, job); err != nil {
			g.log.Warn("gateway status update failed; will retry", "err", err)
			g.mu.Lock()
			if g.want == nil {
				g.want = job
			}
			g.mu.Unlock()
			retry.Reset(time.Second)
		}
	}
}

func (g *gatewayStatusWriter) write(ctx context.Context, job *gatewayStatusJob) error {
	now := metav1.NewTime(g.now().Truncate(time.Second))
	var firstErr error
	keep := func(err error) {
		if err != nil && !apierrors.IsNotFound(err) && firstErr == nil {
			firstErr = err
		}
	}
	v1 := g.client.GatewayV1()
	for _, want := range job.status.Classes {
		cur := g.watcher.GatewayClass(want.Name)
		if cur == nil {
			continue
		}
		next := cur.DeepCopy()
		next.Status.Conditions = mergeConditions(cur.Status.Conditions, want.Conditions, now)
		if !equality.Semantic.DeepEqual(cur.Status, next.Status) {
			_, err := v1.GatewayClasses().UpdateStatus(ctx, next, metav1.UpdateOptions{})
			keep(err)
		}
	}
	var published []gatewayv1.GatewayStatusAddress
	for _, gs := range job.status.Gateways {
		cur := g.watcher.Gateway(gs.Namespace, gs.Name)
		if cur == nil {
			continue
		}
		next := cur.DeepCopy()
		next.Status.Conditions = mergeConditions(cur.Status.Conditions, gs.Conditions, now)
		next.Status.Listeners = mergeListeners(cur.Status.Listeners, gs.Listeners, now)
		if gs.Address != "" {
			next.Status.Addresses = []gatewayv1.GatewayStatusAddress{ipAddress(gs.Address)}
		} else {
			if published == nil && g.published != nil {
				published = toGatewayAddresses(g.published(ctx, job.snap))
			}
			next.Status.Addresses = published
		}
		if !equality.Semantic.DeepEqual(cur.Status, next.Status) {
			_, err := v1.Gateways(gs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
			keep(err)
		}
	}
	wanted := map[string]*model.RouteStatus{}
	for i := range job.status.Routes {
		rs := &job.status.Routes[i]
		wanted[rs.Namespace+"/"+rs.Name] = rs
	}
	// Every route: one that is no longer attached loses our parents.
	for _, rt := range job.snap.HTTPRoutes {
		cur := g.watcher.HTTPRoute(rt.Namespace, rt.Name)
		if cur == nil {
			continue
		}
		next := cur.DeepCopy()
		next.Status.Parents = g.mergeParents(cur.Status.Parents, wanted[rt.Namespace+"/"+rt.Name], now)
		if !equality.Semantic.DeepEqual(cur.Status, next.Status) {
			_, err := v1.HTTPRoutes(rt.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
			keep(err)
		}
	}
	return firstErr
}

func ipAddress(a string) gatewayv1.GatewayStatusAddress {
	t := gatewayv1.IPAddressType
	return gatewayv1.GatewayStatusAddress{Type: &t, Value: a}
}

func toGatewayAddresses(lbs []networkingv1.IngressLoadBalancerIngress) []gatewayv1.GatewayStatusAddress {
	out := []gatewayv1.GatewayStatusAddress{}
	for _, lb := range lbs {
		switch {
		case lb.IP != "":
			if _, err := netip.ParseAddr(lb.IP); err == nil {
				out = append(out, ipAddress(lb.IP))
			}
		case lb.Hostname != "":
			t := gatewayv1.HostnameAddressType
			out = append(out, gatewayv1.GatewayStatusAddress{Type: &t, Value: lb.Hostname})
		}
	}
	return out
}

// mergeConditions returns want with the LastTransitionTime of the current
// condition of each type whose status did not change, else now.
func mergeConditions(current, want []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(want))
	for _, w := range want {
		w.LastTransitionTime = now
		if c := meta.FindStatusCondition(current, w.Type); c != nil && c.Status == w.Status {
			w.LastTransitionTime = c.LastTransitionTime
		}
		out = append(out, w)
	}
	return out
}

func mergeListeners(current, want []gatewayv1.ListenerStatus, now metav1.Time) []gatewayv1.ListenerStatus {
	out := make([]gatewayv1.ListenerStatus, 0, len(want))
	for _, w := range want {
		var conds []metav1.Condition
		if i := slices.IndexFunc(current, func(c gatewayv1.ListenerStatus) bool { return c.Name == w.Name }); i >= 0 {
			conds = current[i].Conditions
		}
		w.Conditions = mergeConditions(conds, w.Conditions, now)
		out = append(out, w)
	}
	return out
}

// mergeParents keeps the parents other controllers wrote and replaces
// ours with want's.
func (g *gatewayStatusWriter) mergeParents(current []gatewayv1.RouteParentStatus, want *model.RouteStatus, now metav1.Time) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	for _, p := range current {
		if string(p.ControllerName) != g.controller {
			out = append(out, p)
		}
	}
	if want == nil {
		return out
	}
	for _, w := range want.Parents {
		var conds []metav1.Condition
		if i := slices.IndexFunc(current, func(c gatewayv1.RouteParentStatus) bool {
			return string(c.ControllerName) == g.controller && equality.Semantic.DeepEqual(c.ParentRef, w.ParentRef)
		}); i >= 0 {
			conds = current[i].Conditions
		}
		w.Conditions = mergeConditions(conds, w.Conditions, now)
		out = append(out, w)
	}
	return out
}
