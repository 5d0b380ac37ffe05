package bench

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// ManagedBy marks the EndpointSlices the benchmark writes itself.
const ManagedBy = "bollard-bench"

// IngressClass is the class Bollard serves in the benchmark.
const IngressClass = "bollard"

// EchoPort is the port of the echo pods.
const EchoPort = 8080

// Service is a selector-less Service: port 80 "http" → EchoPort. Its
// endpoints come from EndpointSlices the benchmark writes.
func Service(namespace, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, TargetPort: intstr.FromInt32(EchoPort), Protocol: corev1.ProtocolTCP,
		}}},
	}
}

// Slice is the benchmark's EndpointSlice of a Service, with ready endpoints.
func Slice(namespace, service string, addrs ...netip.Addr) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-bench", Namespace: namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: service,
			discoveryv1.LabelManagedBy:   ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{
			Name: ptr.To("http"), Port: ptr.To(int32(EchoPort)), Protocol: ptr.To(corev1.ProtocolTCP),
		}},
	}
	SetEndpoints(s, addrs...)
	return s
}

// SetEndpoints replaces the endpoints of a slice with ready ones.
func SetEndpoints(s *discoveryv1.EndpointSlice, addrs ...netip.Addr) {
	s.Endpoints = s.Endpoints[:0]
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{a.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		})
	}
}

// Ingress routes host (Prefix /) to service port 80, class bollard.
func Ingress(namespace, name, host, service string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(IngressClass),
			Rules: []networkingv1.IngressRule{{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: service, Port: networkingv1.ServiceBackendPort{Number: 80},
						}},
					}},
				}},
			}},
		},
	}
}

// Route creates a Service, its EndpointSlice and an Ingress for host, in
// that order (what `kubectl apply` of one app does). Objects that already
// exist are left as they are.
func Route(ctx context.Context, c kubernetes.Interface, namespace, name, host string, addrs ...netip.Addr) error {
	return route(ctx, c, Service(namespace, name), host, addrs...)
}

func route(ctx context.Context, c kubernetes.Interface, svc *corev1.Service, host string, addrs ...netip.Addr) error {
	namespace, name := svc.Namespace, svc.Name
	if _, err := c.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service %s/%s: %w", namespace, name, err)
	}
	if _, err := c.DiscoveryV1().EndpointSlices(namespace).Create(ctx, Slice(namespace, name, addrs...), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create endpointslice %s/%s: %w", namespace, name, err)
	}
	if _, err := c.NetworkingV1().Ingresses(namespace).Create(ctx, Ingress(namespace, name, host, name), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ingress %s/%s: %w", namespace, name, err)
	}
	return nil
}

// ScaleItem names the i-th generated app of a bulk load.
type ScaleItem struct {
	Namespace, Name, Host string
	Addrs                 []netip.Addr
}

// Namespaces returns prefix-0 … prefix-(n-1).
func Namespaces(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// ScaleItems generates n apps spread over namespaces, each with perService
// endpoints among the last 50 addresses of subnet (the netns kubelet hands
// out addresses from the bottom): they are data for the model and the config
// and never receive traffic.
func ScaleItems(prefix string, n int, namespaces []string, perService int, subnet netip.Prefix) []ScaleItem {
	subnet = subnet.Masked()
	size := 1 << (32 - subnet.Bits())
	first := subnet.Addr().As4()[3] + byte(size-52) // .76 of a /25 at .0, .204 of one at .128
	items := make([]ScaleItem, n)
	for i := range items {
		it := ScaleItem{
			Namespace: namespaces[i%len(namespaces)],
			Name:      fmt.Sprintf("app-%d", i),
			Host:      fmt.Sprintf("app-%d.%s.bench", i, prefix),
		}
		for k := 0; k < perService; k++ {
			a := subnet.Addr().As4()
			a[3] = first + byte((i*perService+k)%50)
			it.Addrs = append(it.Addrs, netip.AddrFrom4(a))
		}
		items[i] = it
	}
	return items
}

// CreateAll creates the namespaces and routes of items (headless Services)
// with bounded concurrency. progress is called now and then with the count done.
func CreateAll(ctx context.Context, c kubernetes.Interface, items []ScaleItem, workers int, progress func(done int, elapsed time.Duration)) error {
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Namespace] {
			continue
		}
		seen[it.Namespace] = true
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: it.Namespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", it.Namespace, err)
		}
	}
	start := time.Now()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				it := items[i]
				svc := Service(it.Namespace, it.Name)
				svc.Spec.ClusterIP = corev1.ClusterIPNone // no ClusterIP to allocate: a faster bulk load
				if err := route(ctx, c, svc, it.Host, it.Addrs...); err != nil {
					errs <- err
					cancel()
					return
				}
				if d := done.Add(1); progress != nil && d%1000 == 0 {
					progress(int(d), time.Since(start))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
