package watch

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/bollard-io/bollard/pkg/model"
)

// lastAppliedAnnotation is kubectl's copy of the whole object: large, and
// of no use to the model.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Watcher keeps informer caches of everything the model reads.
type Watcher struct {
	informers []cache.SharedIndexInformer
	synced    []cache.InformerSynced
	ingresses cache.SharedIndexInformer
	classes   cache.SharedIndexInformer
	services  cache.SharedIndexInformer
	slices    cache.SharedIndexInformer
	secrets   cache.SharedIndexInformer
	// authSecrets are the Opaque Secrets (auth-secret), trimmed.
	authSecrets cache.SharedIndexInformer
	configMaps  cache.SharedIndexInformer // nil without a global ConfigMap
	gateway     *gatewayInformers         // nil without the Gateway API
}

// New builds informers for scope that report to h every add, update or
// delete that may change the model, and count the others.
func New(client kubernetes.Interface, scope Scope, h Handler) (*Watcher, error) {
	w := &Watcher{}
	namespace := scope.Namespace
	ing, core := client.NetworkingV1(), client.CoreV1()
	w.ingresses = newInformer(client, &networkingv1.Ingress{}, ing.Ingresses(namespace).List, ing.Ingresses(namespace).Watch)
	w.classes = newInformer(client, &networkingv1.IngressClass{}, ing.IngressClasses().List, ing.IngressClasses().Watch)
	w.services = newInformer(client, &corev1.Service{}, core.Services(namespace).List, core.Services(namespace).Watch)
	slices := client.DiscoveryV1().EndpointSlices(namespace)
	w.slices = newInformer(client, &discoveryv1.EndpointSlice{}, slices.List, slices.Watch)
	if err := indexSlicesByService(w.slices); err != nil {
		return nil, fmt.Errorf("watch EndpointSlice: %w", err)
	}
	secrets := core.Secrets(namespace)
	listFn, watchFn := selected(scope.secretSelector(), secrets.List, secrets.Watch)
	w.secrets = newInformer(client, &corev1.Secret{}, listFn, watchFn)
	listFn, watchFn = selected(scope.authSecretSelector(), secrets.List, secrets.Watch)
	w.authSecrets = newInformer(client, &corev1.Secret{}, listFn, watchFn)
	kinds := map[string]cache.SharedIndexInformer{
		"Ingress": w.ingresses, "IngressClass": w.classes, "Service": w.services,
		"EndpointSlice": w.slices, "Secret": w.secrets, "AuthSecret": w.authSecrets,
	}
	if cmNamespace, selector, ok := scope.configMap(); ok {
		configMaps := core.ConfigMaps(cmNamespace)
		listFn, watchFn := selected(selector, configMaps.List, configMaps.Watch)
		w.configMaps = newInformer(client, &corev1.ConfigMap{}, listFn, watchFn)
		kinds["ConfigMap"] = w.configMaps
	}
	for kind, inf := range kinds {
		transform := trim
		switch kind {
		case "AuthSecret":
			transform = trimAuthSecretObject
		case "Secret":
			transform = func(obj any) (any, error) {
				obj, err := trim(obj)
				if err != nil {
					return obj, err
				}
				return trimSecretObject(obj)
			}
		}
		if err := inf.SetTransform(transform); err != nil {
			return nil, fmt.Errorf("watch %s: %w", kind, err)
		}
		_, err := inf.AddEventHandler(h.handlers(kind))
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", kind, err)
		}
		w.informers = append(w.informers, inf)
		w.synced = append(w.synced, inf.HasSynced)
	}
	return w, nil
}

// selected narrows a list and a watch call to the objects that match the
// field selector.
func selected[L runtime.Object](selector string,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) (func(context.Context, metav1.ListOptions) (L, error), func(context.Context, metav1.ListOptions) (watch.Interface, error)) {
	return func(ctx context.Context, o metav1.ListOptions) (L, error) {
			o.FieldSelector = selector
			return list(ctx, o)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return watchFn(ctx, o)
		}
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
	for _, inf := range w.informers {
		go inf.RunWithContext(ctx)
	}
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
	snap := model.Snapshot{
		Ingresses:      listAs[*networkingv1.Ingress](w.ingresses),
		IngressClasses: listAs[*networkingv1.IngressClass](w.classes),
		Services:       listAs[*corev1.Service](w.services),
		EndpointSlices: listAs[*discoveryv1.EndpointSlice](w.slices),
		Secrets:        listAs[*corev1.Secret](w.secrets),
		AuthSecrets:    listAs[*corev1.Secret](w.authSecrets),
		ConfigMaps:     listAs[*corev1.ConfigMap](w.configMaps),
	}
	w.addGatewaySnapshot(&snap)
	return snap
}

func listAs[T any](inf cache.SharedIndexInformer) []T {
	if inf == nil {
		return nil
	}
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
