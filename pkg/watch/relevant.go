package watch

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"
)

// Change is one informer event the model may read.
type Change struct {
	Kind      string // "Ingress", "IngressClass", "Service", "EndpointSlice", "Secret", "AuthSecret", "ConfigMap"
	Namespace string
	Name      string
	// Service is an EndpointSlice's Service (label kubernetes.io/service-name), "" for other kinds.
	Service string
}

// Handler receives the relevant changes and counts the skipped ones. Its
// funcs must not block. An EndpointSlice moved to another Service is one
// Change for each of the two Services.
type Handler struct {
	Changed func(Change)
	Skipped func(kind string)
	// SecretRead reports whether the last model read the Secret "namespace/name" (or looked for it and did not find it); nil: every Secret is relevant.
	SecretRead func(key string) bool
}

func (h Handler) changed(ch Change) {
	if h.Changed != nil {
		h.Changed(ch)
	}
}

func (h Handler) skipped(kind string) {
	if h.Skipped != nil {
		h.Skipped(kind)
	}
}

// secretUnread tells a Secret event the last model has no use for: the
// cache still takes it, and the change of an Ingress that names it
// rebuilds the model.
func (h Handler) secretUnread(ch Change) bool {
	if h.SecretRead == nil || (ch.Kind != "Secret" && ch.Kind != "AuthSecret") || ch.Name == "" {
		return false // an object without a name: relevant, to be safe
	}
	return !h.SecretRead(ch.Namespace + "/" + ch.Name)
}

// handlers turns informer events of kind into calls of h.
func (h Handler) handlers(kind string) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { h.event(kind, nil, obj) },
		UpdateFunc: func(old, cur any) {
			if !relevantUpdate(kind, old, cur) {
				h.skipped(kind)
				return
			}
			h.event(kind, old, cur)
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			h.event(kind, nil, obj)
		},
	}
}

// event reports a relevant add, update (old != nil) or delete.
func (h Handler) event(kind string, old, obj any) {
	ch := changeOf(kind, obj)
	if h.secretUnread(ch) {
		h.skipped(kind)
		return
	}
	if old != nil && kind == "EndpointSlice" {
		if prev := changeOf(kind, old); prev.Service != ch.Service {
			h.changed(prev) // the slice left that Service
		}
	}
	h.changed(ch)
}

func changeOf(kind string, obj any) Change {
	ch := Change{Kind: kind}
	if accessor, err := meta.Accessor(obj); err == nil {
		ch.Namespace, ch.Name = accessor.GetNamespace(), accessor.GetName()
	}
	if slice, ok := obj.(*discoveryv1.EndpointSlice); ok {
		ch.Service = slice.Labels[discoveryv1.LabelServiceName]
	}
	return ch
}

// relevantUpdate reports whether an update changed what the model reads.
// It compares those fields, not the resourceVersion (status writes,
// labels and managedFields bump it); an unknown pair is relevant.
func relevantUpdate(kind string, old, cur any) bool {
	oldMeta, err1 := meta.Accessor(old)
	curMeta, err2 := meta.Accessor(cur)
	if err1 != nil || err2 != nil {
		return true
	}
	if rv := curMeta.GetResourceVersion(); rv != "" && rv == oldMeta.GetResourceVersion() {
		return false // a resync: the same object again
	}
	if changed, known := gatewayChanged(old, cur); known {
		return changed
	}
	switch a := old.(type) {
	case *networkingv1.Ingress:
		b, ok := cur.(*networkingv1.Ingress)
		return !ok || ingressChanged(a, b)
	case *networkingv1.IngressClass:
		b, ok := cur.(*networkingv1.IngressClass)
		return !ok || !equality.Semantic.DeepEqual(a.Spec, b.Spec) || !maps.Equal(a.Annotations, b.Annotations)
	case *corev1.Service:
		b, ok := cur.(*corev1.Service)
		return !ok || serviceChanged(a, b)
	case *discoveryv1.EndpointSlice:
		b, ok := cur.(*discoveryv1.EndpointSlice)
		return !ok || sliceChanged(a, b)
	case *corev1.Secret:
		b, ok := cur.(*corev1.Secret)
		return !ok || secretChanged(a, b)
	case *corev1.ConfigMap:
		b, ok := cur.(*corev1.ConfigMap)
		return !ok || !maps.Equal(a.Data, b.Data)
	}
	return true
}

// ingressChanged: the model reads an Ingress's spec and annotations
// (labels and status it does not read; status is Bollard's own write).
func ingressChanged(a, b *networkingv1.Ingress) bool {
	return !equality.Semantic.DeepEqual(a.Spec, b.Spec) ||
		!maps.Equal(a.Annotations, b.Annotations) ||
		!a.DeletionTimestamp.Equal(b.DeletionTimestamp)
}

// serviceChanged: spec and annotations for the model, and the load
// balancer status, which --publish-service copies to Ingress status.
func serviceChanged(a, b *corev1.Service) bool {
	return !equality.Semantic.DeepEqual(a.Spec, b.Spec) ||
		!maps.Equal(a.Annotations, b.Annotations) ||
		!equality.Semantic.DeepEqual(a.Status.LoadBalancer, b.Status.LoadBalancer)
}

// sliceChanged: the model reads a slice's Service label, address type,
// ports, and of each endpoint its addresses and conditions (not its
// hostname, node, zone, hints or target).
func sliceChanged(a, b *discoveryv1.EndpointSlice) bool {
	if a.Labels[discoveryv1.LabelServiceName] != b.Labels[discoveryv1.LabelServiceName] ||
		a.AddressType != b.AddressType ||
		!equality.Semantic.DeepEqual(a.Ports, b.Ports) ||
		len(a.Endpoints) != len(b.Endpoints) {
		return true
	}
	for i := range a.Endpoints {
		x, y := &a.Endpoints[i], &b.Endpoints[i]
		if !slices.Equal(x.Addresses, y.Addresses) || !equality.Semantic.DeepEqual(x.Conditions, y.Conditions) {
			return true
		}
	}
	return false
}

// secretChanged compares what the informers' transforms keep of a Secret.
func secretChanged(a, b *corev1.Secret) bool {
	return a.Type != b.Type || !equality.Semantic.DeepEqual(a.Data, b.Data)
}
