package watch

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/bollard-io/bollard/pkg/model"
)

func ingress(rv string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ResourceVersion: rv, Generation: 1,
			Annotations: map[string]string{"bollard.io/timeout-server": "5s"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "a.example"}}},
	}
}

func slice(rv string) *discoveryv1.EndpointSlice {
	ready := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-abc", ResourceVersion: rv,
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
}

func service(rv string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ResourceVersion: rv},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}

func TestRelevantUpdate(t *testing.T) {
	withRV := func(s *corev1.Secret, rv string) *corev1.Secret { s.ResourceVersion = rv; return s }
	cases := []struct {
		name     string
		kind     string
		old, cur any
		edit     func(any)
		want     bool
	}{
		{name: "ingress status only", kind: "Ingress", old: ingress("1"), cur: ingress("2"), edit: func(o any) {
			o.(*networkingv1.Ingress).Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
		}},
		{name: "ingress labels only", kind: "Ingress", old: ingress("1"), cur: ingress("2"), edit: func(o any) {
			o.(*networkingv1.Ingress).Labels = map[string]string{"team": "a"}
		}},
		{name: "ingress resync", kind: "Ingress", old: ingress("1"), cur: ingress("1"), edit: func(o any) {
			o.(*networkingv1.Ingress).Spec.Rules[0].Host = "b.example" // same rv: the same object
		}},
		{name: "ingress annotation", kind: "Ingress", old: ingress("1"), cur: ingress("2"), want: true, edit: func(o any) {
			o.(*networkingv1.Ingress).Annotations["bollard.io/timeout-server"] = "6s"
		}},
		{name: "ingress annotation added", kind: "Ingress", old: ingress("1"), cur: ingress("2"), want: true, edit: func(o any) {
			o.(*networkingv1.Ingress).Annotations["bollard.io/ssl-redirect"] = "true"
		}},
		{name: "ingress spec", kind: "Ingress", old: ingress("1"), cur: ingress("2"), want: true, edit: func(o any) {
			o.(*networkingv1.Ingress).Spec.Rules[0].Host = "b.example"
		}},
		{name: "ingress deletion", kind: "Ingress", old: ingress("1"), cur: ingress("2"), want: true, edit: func(o any) {
			now := metav1.Now()
			o.(*networkingv1.Ingress).DeletionTimestamp = &now
		}},
		{name: "ingress without resource versions", kind: "Ingress", old: ingress(""), cur: ingress(""), want: true, edit: func(o any) {
			o.(*networkingv1.Ingress).Spec.Rules[0].Host = "b.example"
		}},
		{name: "slice condition", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), want: true, edit: func(o any) {
			notReady := false
			o.(*discoveryv1.EndpointSlice).Endpoints[0].Conditions.Ready = &notReady
		}},
		{name: "slice address", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), want: true, edit: func(o any) {
			o.(*discoveryv1.EndpointSlice).Endpoints[0].Addresses[0] = "10.0.0.2"
		}},
		{name: "slice endpoint added", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), want: true, edit: func(o any) {
			s := o.(*discoveryv1.EndpointSlice)
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.3"}})
		}},
		{name: "slice ports", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), want: true, edit: func(o any) {
			port := int32(8080)
			o.(*discoveryv1.EndpointSlice).Ports = []discoveryv1.EndpointPort{{Port: &port}}
		}},
		{name: "slice service label", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), want: true, edit: func(o any) {
			o.(*discoveryv1.EndpointSlice).Labels[discoveryv1.LabelServiceName] = "api"
		}},
		{name: "slice node name only", kind: "EndpointSlice", old: slice("1"), cur: slice("2"), edit: func(o any) {
			node := "n1"
			o.(*discoveryv1.EndpointSlice).Endpoints[0].NodeName = &node
		}},
		{name: "service annotation", kind: "Service", old: service("1"), cur: service("2"), want: true, edit: func(o any) {
			o.(*corev1.Service).Annotations = map[string]string{"bollard.io/timeout-server": "1s"}
		}},
		{name: "service spec", kind: "Service", old: service("1"), cur: service("2"), want: true, edit: func(o any) {
			o.(*corev1.Service).Spec.Ports[0].TargetPort = intstr.FromInt32(9090)
		}},
		{name: "service load balancer (publish-service)", kind: "Service", old: service("1"), cur: service("2"), want: true, edit: func(o any) {
			o.(*corev1.Service).Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.9"}}
		}},
		{name: "service labels only", kind: "Service", old: service("1"), cur: service("2"), edit: func(o any) {
			o.(*corev1.Service).Labels = map[string]string{"x": "y"}
		}},
		{name: "secret data", kind: "Secret", old: withRV(secret("ns", "tls", corev1.SecretTypeTLS, "tls.crt"), "1"),
			cur: withRV(secret("ns", "tls", corev1.SecretTypeTLS, "tls.crt"), "2"), want: true, edit: func(o any) {
				o.(*corev1.Secret).Data["tls.crt"] = []byte("renewed")
			}},
		{name: "secret annotations only", kind: "Secret", old: withRV(secret("ns", "tls", corev1.SecretTypeTLS, "tls.crt"), "1"),
			cur: withRV(secret("ns", "tls", corev1.SecretTypeTLS, "tls.crt"), "2"), edit: func(o any) {
				o.(*corev1.Secret).Annotations = map[string]string{"cert-manager.io/x": "y"}
			}},
		{name: "configmap data", kind: "ConfigMap", old: configMap("ns", "global"), cur: configMap("ns", "global"), want: true, edit: func(o any) {
			o.(*corev1.ConfigMap).Data = map[string]string{"timeout-server": "5s"}
		}},
		{name: "configmap labels only", kind: "ConfigMap", old: configMap("ns", "global"), cur: configMap("ns", "global"), edit: func(o any) {
			o.(*corev1.ConfigMap).Labels = map[string]string{"x": "y"}
		}},
		{name: "class default annotation", kind: "IngressClass", old: &networkingv1.IngressClass{}, cur: &networkingv1.IngressClass{}, want: true, edit: func(o any) {
			o.(*networkingv1.IngressClass).Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		}},
		{name: "class controller", kind: "IngressClass", old: &networkingv1.IngressClass{}, cur: &networkingv1.IngressClass{}, want: true, edit: func(o any) {
			o.(*networkingv1.IngressClass).Spec.Controller = "bollard.io/ingress"
		}},
		{name: "not an object", kind: "Ingress", old: "x", cur: "y", want: true, edit: func(any) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.edit(c.cur)
			if got := relevantUpdate(c.kind, c.old, c.cur); got != c.want {
				t.Errorf("relevant = %v, want %v", got, c.want)
			}
		})
	}
}

// recorder is a Handler that keeps what it was told.
type recorder struct {
	mu      sync.Mutex
	changed []Change
	skipped []string
	read    map[string]bool
}

func (r *recorder) handler() Handler {
	return Handler{
		Changed: func(ch Change) { r.mu.Lock(); r.changed = append(r.changed, ch); r.mu.Unlock() },
		Skipped: func(kind string) { r.mu.Lock(); r.skipped = append(r.skipped, kind); r.mu.Unlock() },
		SecretRead: func(key string) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.read[key]
		},
	}
}

func TestHandlerSecrets(t *testing.T) {
	r := &recorder{read: map[string]bool{"ns/used": true}}
	h := r.handler()
	used, unused := secret("ns", "used", corev1.SecretTypeTLS), secret("ns", "unused", corev1.SecretTypeTLS)
	changed := func(s *corev1.Secret) *corev1.Secret {
		s = s.DeepCopy()
		s.ResourceVersion, s.Data["tls.crt"] = "2", []byte("new")
		return s
	}
	for _, kind := range []string{"Secret", "AuthSecret"} {
		f := h.handlers(kind)
		f.OnAdd(unused, false)
		f.OnUpdate(unused, changed(unused))
		f.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/unused", Obj: unused})
		f.OnAdd(used, false)
		f.OnUpdate(used, changed(used))
		f.OnDelete(used)
	}
	want := []Change{
		{Kind: "Secret", Namespace: "ns", Name: "used"}, {Kind: "Secret", Namespace: "ns", Name: "used"}, {Kind: "Secret", Namespace: "ns", Name: "used"},
		{Kind: "AuthSecret", Namespace: "ns", Name: "used"}, {Kind: "AuthSecret", Namespace: "ns", Name: "used"}, {Kind: "AuthSecret", Namespace: "ns", Name: "used"},
	}
	if !slices.Equal(r.changed, want) {
		t.Errorf("changed %v\nwant %v", r.changed, want)
	}
	if want := []string{"Secret", "Secret", "Secret", "AuthSecret", "AuthSecret", "AuthSecret"}; !slices.Equal(r.skipped, want) {
		t.Errorf("skipped %v, want %v", r.skipped, want)
	}
	// A tombstone without an object is relevant.
	h.handlers("Secret").OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/unused"})
	if n := len(r.changed); n != len(want)+1 || r.changed[n-1].Kind != "Secret" {
		t.Errorf("a tombstone without its object was skipped: %v", r.changed)
	}
	r.changed = r.changed[:len(want)]
	// Without SecretRead every Secret is relevant; other kinds never ask.
	r2 := &recorder{}
	h2 := r2.handler()
	h2.SecretRead = nil
	h2.handlers("Secret").OnAdd(unused, false)
	r.handler().handlers("Ingress").OnAdd(ingress("1"), false)
	if len(r2.changed) != 1 || len(r.changed) != len(want)+1 {
		t.Errorf("got %v and %v", r2.changed, r.changed)
	}
}

// TestHandlerSliceMoves: a slice whose Service label changes is a change
// of both Services, for the endpoint path.
func TestHandlerSliceMoves(t *testing.T) {
	r := &recorder{}
	old, cur := slice("1"), slice("2")
	cur.Labels[discoveryv1.LabelServiceName] = "api"
	r.handler().handlers("EndpointSlice").OnUpdate(old, cur)
	want := []Change{
		{Kind: "EndpointSlice", Namespace: "ns", Name: "web-abc", Service: "web"},
		{Kind: "EndpointSlice", Namespace: "ns", Name: "web-abc", Service: "api"},
	}
	if !slices.Equal(r.changed, want) {
		t.Errorf("changed %v, want %v", r.changed, want)
	}
}

// TestWatcherSkips runs the informers on a fake clientset: a status write
// and an unused Secret are skipped, the rest reaches Changed.
func TestWatcherSkips(t *testing.T) {
	ing := ingress("")
	client := fakeCluster(t, ing)
	r := &recorder{read: map[string]bool{"ns/used": true}}
	w, err := New(client, ScopeOf(model.Options{}), r.handler())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wait := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			r.mu.Lock()
			ok := done()
			r.mu.Unlock()
			if ok {
				return
			}
		}
		t.Fatalf("%s: changed %v, skipped %v", what, r.changed, r.skipped)
	}
	wait("initial add", func() bool { return len(r.changed) == 1 })
	ings := client.NetworkingV1().Ingresses("ns")
	status := ing.DeepCopy()
	status.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
	status.ResourceVersion = "2" // the fake keeps no versions: tell the update from a resync
	if _, err := ings.UpdateStatus(ctx, status, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("status write", func() bool { return slices.Equal(r.skipped, []string{"Ingress"}) })
	secrets := client.CoreV1().Secrets("ns")
	for _, name := range []string{"unused", "used"} {
		if _, err := secrets.Create(ctx, secret("ns", name, corev1.SecretTypeTLS, "tls.crt"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// (The fake's watches ignore field selectors: the AuthSecret informer
	// sees these too.)
	wait("secrets", func() bool {
		return slices.Contains(r.changed, Change{Kind: "Secret", Namespace: "ns", Name: "used"}) && slices.Contains(r.skipped, "Secret")
	})
	r.mu.Lock()
	if slices.ContainsFunc(r.changed, func(ch Change) bool { return ch.Name == "unused" }) {
		t.Errorf("an unused Secret woke the loop: %v", r.changed)
	}
	before := len(r.changed)
	r.mu.Unlock()
	spec := status.DeepCopy()
	spec.ResourceVersion = "3"
	spec.Spec.Rules[0].Host = "b.example"
	if _, err := ings.Update(ctx, spec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The AuthSecret informer's event for "used" may still arrive after
	// before was read: look only at Ingress changes.
	web := Change{Kind: "Ingress", Namespace: "ns", Name: "web"}
	wait("spec change", func() bool { return slices.Contains(r.changed[before:], web) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(slices.DeleteFunc(slices.Clone(r.changed[before:]), func(ch Change) bool { return ch != web })); n != 1 {
		t.Errorf("the spec change woke the loop %d times: %v", n, r.changed[before:])
	}
}
