package watch

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/bollard-io/bollard/pkg/model"
)

// lastAppliedAnnotation is kubectl's copy of the whole object: large, and
// of no use to the model.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Watcher keeps informer caches of everything the model reads.
type Watcher struct {
	namespaced informers.SharedInformerFactory
	cluster    informers.SharedInformerFactory
	synced     []cache.InformerSynced
	ingresses  cache.SharedIndexInformer
	classes    cache.SharedIndexInformer
	services   cache.SharedIndexInformer
	slices     cache.SharedIndexInformer
	secrets    cache.SharedIndexInformer
	configMaps cache.SharedIndexInformer
}

// New builds informers for namespace ("" = all) that call onChange after
// every add, update or delete. onChange must not block.
func New(client kubernetes.Interface, namespace string, onChange func(kind string)) (*Watcher, error) {
	w := &Watcher{
		namespaced: informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace)),
		cluster:    informers.NewSharedInformerFactory(client, 0),
	}
	w.ingresses = w.namespaced.Networking().V1().Ingresses().Informer()
	w.classes = w.cluster.Networking().V1().IngressClasses().Informer()
	w.services = w.namespaced.Core().V1().Services().Informer()
	w.slices = w.namespaced.Discovery().V1().EndpointSlices().Informer()
	w.secrets = w.namespaced.Core().V1().Secrets().Informer()
	w.configMaps = w.namespaced.Core().V1().ConfigMaps().Informer()
	for kind, inf := range map[string]cache.SharedIndexInformer{
		"Ingress": w.ingresses, "IngressClass": w.classes, "Service": w.services,
		"EndpointSlice": w.slices, "Secret": w.secrets, "ConfigMap": w.configMaps,
	} {
		if err := inf.SetTransform(trim); err != nil {
			return nil, fmt.Errorf("watch %s: %w", kind, err)
		}
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { onChange(kind) },
			UpdateFunc: func(any, any) { onChange(kind) },
			DeleteFunc: func(any) { onChange(kind) },
		})
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", kind, err)
		}
		w.synced = append(w.synced, inf.HasSynced)
	}
	return w, nil
}

// trim drops managedFields and the last-applied annotation before objects
// enter the cache: they are most of an object's size.
func trim(obj any) (any, error) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tombstone, nil
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil
	}
	accessor.SetManagedFields(nil)
	if ann := accessor.GetAnnotations(); ann != nil {
		if _, ok := ann[lastAppliedAnnotation]; ok {
			delete(ann, lastAppliedAnnotation)
			accessor.SetAnnotations(ann)
		}
	}
	return obj, nil
}

// Start runs the informers until ctx ends and waits for their caches.
func (w *Watcher) Start(ctx context.Context, timeout time.Duration) error {
	w.namespaced.Start(ctx.Done())
	w.cluster.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), w.synced...) {
		return fmt.Errorf("watch: caches did not sync within %s", timeout)
	}
	return nil
}

// Snapshot returns the cached objects. They are shared with the cache:
// the model only reads them.
func (w *Watcher) Snapshot() model.Snapshot {
	return model.Snapshot{
		Ingresses:      listAs[*networkingv1.Ingress](w.ingresses),
		IngressClasses: listAs[*networkingv1.IngressClass](w.classes),
		Services:       listAs[*corev1.Service](w.services),
		EndpointSlices: listAs[*discoveryv1.EndpointSlice](w.slices),
		Secrets:        listAs[*corev1.Secret](w.secrets),
		ConfigMaps:     listAs[*corev1.ConfigMap](w.configMaps),
	}
}

func listAs[T any](inf cache.SharedIndexInformer) []T {
	items := inf.GetStore().List()
	out := make([]T, 0, len(items))
	for _, item := range items {
		if obj, ok := item.(T); ok {
			out = append(out, obj)
		}
	}
	return out
}

// Ingress returns the cached Ingress, for status updates.
func (w *Watcher) Ingress(namespace, name string) (*networkingv1.Ingress, bool) {
	item, ok, err := w.ingresses.GetStore().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	ing, ok := item.(*networkingv1.Ingress)
	return ing, ok
}
