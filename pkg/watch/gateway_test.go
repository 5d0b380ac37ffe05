package watch

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestGatewayRelevantUpdate: the status Bollard writes does not wake the
// apply loop; a spec change does, and so do a Namespace's labels.
func TestGatewayRelevantUpdate(t *testing.T) {
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "g", Generation: 1, ResourceVersion: "1"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "c"}}
	statusOnly := gw.DeepCopy()
	statusOnly.ResourceVersion = "2"
	statusOnly.Status.Conditions = []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue}}
	specChanged := gw.DeepCopy()
	specChanged.ResourceVersion, specChanged.Generation = "3", 2
	specChanged.Spec.Listeners = []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}

	rt := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Generation: 1, ResourceVersion: "1"}}
	rtStatus := rt.DeepCopy()
	rtStatus.ResourceVersion = "2"
	rtStatus.Status.Parents = []gatewayv1.RouteParentStatus{{ControllerName: "x"}}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n", ResourceVersion: "1", Labels: map[string]string{"a": "1"}}}
	nsLabels := ns.DeepCopy()
	nsLabels.ResourceVersion, nsLabels.Labels = "2", map[string]string{"a": "2"}
	nsOther := ns.DeepCopy()
	nsOther.ResourceVersion, nsOther.Annotations = "3", map[string]string{"b": "1"}

	cases := []struct {
		name     string
		old, cur any
		want     bool
	}{
		{"Gateway status only", gw, statusOnly, false},
		{"Gateway spec", gw, specChanged, true},
		{"HTTPRoute status only", rt, rtStatus, false},
		{"Namespace labels", ns, nsLabels, true},
		{"Namespace annotations", ns, nsOther, false},
	}
	for _, c := range cases {
		if got := relevantUpdate("", c.old, c.cur); got != c.want {
			t.Errorf("%s: relevant %v, want %v", c.name, got, c.want)
		}
	}
}
