package controller

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bollard-io/bollard/pkg/model"
)

// statusWriter publishes the load balancer address in Ingress status.
type statusWriter struct {
	client         kubernetes.Interface
	publishService string // namespace/name
	publishAddress []string
	// cached returns the informer's copy of an Ingress (nil: none). A
	// snapshot that new Ingresses were added to holds the others as the
	// last full build read them, before their status was written: the
	// status is compared with, and written onto, the cached copy.
	cached func(namespace, name string) (*networkingv1.Ingress, bool)
}

func newStatusWriter(client kubernetes.Interface, service, addresses string) *statusWriter {
	s := &statusWriter{client: client, publishService: service}
	for _, a := range strings.Split(addresses, ",") {
		if a = strings.TrimSpace(a); a != "" {
			s.publishAddress = append(s.publishAddress, a)
		}
	}
	return s
}

// addresses returns what to publish: --publish-address, else the
// LoadBalancer status of --publish-service.
func (s *statusWriter) addresses(ctx context.Context, snap *model.Snapshot) []networkingv1.IngressLoadBalancerIngress {
	var out []networkingv1.IngressLoadBalancerIngress
	if len(s.publishAddress) > 0 {
		for _, a := range s.publishAddress {
			if _, err := netip.ParseAddr(a); err == nil {
				out = append(out, networkingv1.IngressLoadBalancerIngress{IP: a})
			} else {
				out = append(out, networkingv1.IngressLoadBalancerIngress{Hostname: a})
			}
		}
		return out
	}
	namespace, name, ok := strings.Cut(s.publishService, "/")
	if !ok {
		return nil
	}
	var svc *corev1.Service
	if obj, ok := find(snap.Services, namespace, name).(*corev1.Service); ok {
		svc = obj
	} else {
		got, err := s.client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		svc = got
	}
	for _, lb := range svc.Status.LoadBalancer.Ingress {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname})
	}
	return out
}

// sync sets the status of served Ingresses and clears it on Ingresses
// that are not ours any more, when it holds our addresses.
// With only, it looks at those Ingresses alone.
func (s *statusWriter) sync(ctx context.Context, snap *model.Snapshot, served, only []string) error {
	want := s.addresses(ctx, snap)
	if want == nil && s.publishService == "" && len(s.publishAddress) == 0 {
		return nil
	}
	for _, ing := range s.ingresses(snap, only) {
		if s.cached != nil {
			cached, ok := s.cached(ing.Namespace, ing.Name)
			if !ok {
				continue // deleted since
			}
			ing = cached
		}
		key := ing.Namespace + "/" + ing.Name
		current := ing.Status.LoadBalancer.Ingress
		target := want
		if _, ours := slices.BinarySearch(served, key); !ours {
			if len(current) == 0 || !sameAddresses(current, want) {
				continue // not ours, and not our address
			}
			target = nil
		}
		if sameAddresses(current, target) {
			continue
		}
		update := ing.DeepCopy()
		update.Status.LoadBalancer.Ingress = target
		_, err := s.client.NetworkingV1().Ingresses(ing.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}

// ingresses are the Ingresses a pass looks at: snap's, or those of only
// (at 10k Ingresses a new one made each pass look at all of them).
// Without the cache (tests) it looks at all of snap's, which is right too.
func (s *statusWriter) ingresses(snap *model.Snapshot, only []string) []*networkingv1.Ingress {
	if only == nil || s.cached == nil {
		return snap.Ingresses
	}
	out := make([]*networkingv1.Ingress, 0, len(only))
	for _, key := range only {
		namespace, name, _ := strings.Cut(key, "/")
		if ing, ok := s.cached(namespace, name); ok {
			out = append(out, ing)
		}
	}
	return out
}

func sameAddresses(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y networkingv1.IngressLoadBalancerIngress) bool {
		return x.IP == y.IP && x.Hostname == y.Hostname
	})
}
