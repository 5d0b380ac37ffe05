package options

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestTimeoutConnect: an endpoint that never answers a connection (an
// address of the pod subnet that no pod has: the netns kubelet hands out
// addresses upwards from .10) fails after timeout-connect
// per attempt: HAProxy's 4 attempts give 503 within about 4 × 300ms, where
// the 5s default takes seconds per attempt. Setting it is one reload.
func TestTimeoutConnect(t *testing.T) {
	ns, b := cluster.Setup(t, "connect")
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "void"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "void-1", Labels: map[string]string{discoveryv1.LabelServiceName: "void"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.11.250"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := cluster.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, ingressWith("void", "void.example", "void", nil))
	waitConfig(t, b, "backend "+ns+"_void_80 ")
	time.Sleep(time.Second) // the route's map entry
	start := b.Reloads(t)
	cluster.MustApply(t, ns, ingressWith("void", "void.example", "void", map[string]string{"timeout-connect": "300ms"}))
	waitConfig(t, b, "timeout connect 300ms")
	b.AssertReloads(t, start, 1, "timeout-connect set")

	r := b.Request("void.example", "/")
	r.Timeout = 30 * time.Second
	began := time.Now()
	if got := status(t, r); got != http.StatusServiceUnavailable {
		t.Fatalf("an endpoint that never answers: status %d, want 503", got)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("timeout-connect 300ms: the 503 came after %v, want about 4 × 300ms", took)
	} else {
		t.Logf("timeout-connect 300ms: 503 after %v", took)
	}
}
