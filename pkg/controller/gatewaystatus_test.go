package controller

import (
	"context"
	"log/slog"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/bollard-io/bollard/pkg/model"
)

// fakeGatewayCache reads the objects from the fake clientset, as the
// informers would hold them.
type fakeGatewayCache struct{ client *fake.Clientset }

func (f fakeGatewayCache) GatewayClass(name string) *gatewayv1.GatewayClass {
	c, err := f.client.GatewayV1().GatewayClasses().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return c
}

func (f fakeGatewayCache) Gateway(ns, name string) *gatewayv1.Gateway {
	g, err := f.client.GatewayV1().Gateways(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return g
}

func (f fakeGatewayCache) HTTPRoute(ns, name string) *gatewayv1.HTTPRoute {
	r, err := f.client.GatewayV1().HTTPRoutes(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return r
}

// TestGatewayStatusWriter: conditions keep their transition time while
// their status stays, an unchanged status is not written again, the
// parents other controllers wrote stay, and a route no longer attached
// loses ours.
func TestGatewayStatusWriter(t *testing.T) {
	const ours = model.DefaultGatewayControllerName
	other := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: "theirs"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.Unix(100, 0)}}}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r", Generation: 2},
		Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{other}}}}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw", Generation: 1}}
	// Created through the v1 client: given to NewSimpleClientset, the
	// Gateway was filed under another version and not found.
	client := fake.NewSimpleClientset()
	if _, err := client.GatewayV1().HTTPRoutes("ns").Create(context.Background(), route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GatewayV1().Gateways("ns").Create(context.Background(), gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	w := newGatewayStatusWriter(client, fakeGatewayCache{client}, ours, slog.Default())
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	cond := func(kind string, ok bool, gen int64) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: kind, Status: s, Reason: "R", ObservedGeneration: gen}
	}
	parent := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: ours,
		Conditions: []metav1.Condition{cond("Accepted", true, 2)}}
	status := func(gen int64, accepted bool) *model.GatewayStatus {
		return &model.GatewayStatus{
			Gateways: []model.GatewayObjectStatus{{Namespace: "ns", Name: "gw", Generation: gen, Address: "127.1.2.3",
				Conditions: []metav1.Condition{cond("Programmed", accepted, gen)}}},
			Routes: []model.RouteStatus{{Namespace: "ns", Name: "r", Generation: 2, Parents: []gatewayv1.RouteParentStatus{parent}}},
		}
	}
	snap := &model.Snapshot{HTTPRoutes: []*gatewayv1.HTTPRoute{route}}
	write := func(st *model.GatewayStatus) {
		t.Helper()
		if err := w.write(context.Background(), &gatewayStatusJob{status: st, snap: snap}); err != nil {
			t.Fatal(err)
		}
	}
	updates := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}

	write(status(1, true))
	if got := updates(); got != 2 {
		t.Fatalf("%d status updates, want 2 (the Gateway and the route): %v", got, client.Actions())
	}
	g := fakeGatewayCache{client}.Gateway("ns", "gw")
	if len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Value != "127.1.2.3" || g.Status.Conditions[0].LastTransitionTime.Unix() != 1000 {
		t.Fatalf("gateway status %+v", g.Status)
	}
	r := fakeGatewayCache{client}.HTTPRoute("ns", "r")
	if len(r.Status.Parents) != 2 || r.Status.Parents[0].ControllerName != "example.com/other" || r.Status.Parents[1].ControllerName != ours {
		t.Fatalf("route parents %+v", r.Status.Parents)
	}

	now = time.Unix(2000, 0)
	write(status(1, true))
	if got := updates(); got != 2 {
		t.Fatalf("an unchanged status was written again (%d updates)", got)
	}
	write(status(2, true)) // a new generation, same status: the time stays
	g = fakeGatewayCache{client}.Gateway("ns", "gw")
	if c := g.Status.Conditions[0]; c.ObservedGeneration != 2 || c.LastTransitionTime.Unix() != 1000 {
		t.Fatalf("condition %+v: want generation 2 and the first transition time", c)
	}
	write(status(2, false)) // the status changes: a new time
	g = fakeGatewayCache{client}.Gateway("ns", "gw")
	if c := g.Status.Conditions[0]; c.Status != metav1.ConditionFalse || c.LastTransitionTime.Unix() != 2000 {
		t.Fatalf("condition %+v: want False at 2000", c)
	}

	write(&model.GatewayStatus{}) // the route is attached to nothing of ours now
	r = fakeGatewayCache{client}.HTTPRoute("ns", "r")
	if len(r.Status.Parents) != 1 || r.Status.Parents[0].ControllerName != "example.com/other" {
		t.Fatalf("route parents %+v: want only the other controller's", r.Status.Parents)
	}
}
