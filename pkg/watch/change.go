package watch

import (
	discoveryv1 "k8s.io/api/discovery/v1"
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
	// OldService is the Service the EndpointSlice was labelled for before an update, when it differs.
	OldService string
}

// changeOf describes an event on obj (old: the object before an update).
func changeOf(kind string, obj, old any) Change {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	ch := Change{Kind: kind}
	if m, err := meta.Accessor(obj); err == nil {
		ch.Namespace, ch.Name = m.GetNamespace(), m.GetName()
	}
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
		ch.Service = s.Labels[discoveryv1.LabelServiceName]
	}
	if s, ok := old.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] != ch.Service {
		ch.OldService = s.Labels[discoveryv1.LabelServiceName]
	}
	return ch
}
