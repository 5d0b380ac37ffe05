package watch

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/bollard-io/bollard/pkg/model"
)

// gatewayInformers cache the Gateway API objects and the Namespaces whose
// labels allowedRoutes selectors match.
type gatewayInformers struct {
	classes, gateways, routes, grants, namespaces cache.SharedIndexInformer
}

// gatewayResources are the Gateway API resources Bollard reads.
var gatewayResources = []string{"gatewayclasses", "gateways", "httproutes", "referencegrants"}

// GatewayAPIServed reports whether the API server serves the Gateway API
// v1 resources Bollard reads (the CRDs are installed).
func GatewayAPIServed(d discovery.DiscoveryInterface) (bool, error) {
	list, err := d.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("discover %s: %w", gatewayv1.GroupVersion, err)
	}
	have := map[string]bool{}
	for _, r := range list.APIResources {
		have[r.Name] = true
	}
	for _, r := range gatewayResources {
		if !have[r] {
			return false, nil
		}
	}
	return true, nil
}

// WatchGateway adds the Gateway API informers to w; call it before Start.
func (w *Watcher) WatchGateway(gw gatewayclient.Interface, client kubernetes.Interface, scope Scope, h Handler) error {
	namespace := scope.Namespace
	v1 := gw.GatewayV1()
	g := &gatewayInformers{
		classes:  newInformer(gw, &gatewayv1.GatewayClass{}, v1.GatewayClasses().List, v1.GatewayClasses().Watch),
		gateways: newInformer(gw, &gatewayv1.Gateway{}, v1.Gateways(namespace).List, v1.Gateways(namespace).Watch),
		routes:   newInformer(gw, &gatewayv1.HTTPRoute{}, v1.HTTPRoutes(namespace).List, v1.HTTPRoutes(namespace).Watch),
		grants:   newInformer(gw, &gatewayv1.ReferenceGrant{}, v1.ReferenceGrants(namespace).List, v1.ReferenceGrants(namespace).Watch),
		namespaces: newInformer(client, &corev1.Namespace{}, client.CoreV1().Namespaces().List,
			client.CoreV1().Namespaces().Watch),
	}
	for kind, inf := range map[string]cache.SharedIndexInformer{
		"GatewayClass": g.classes, "Gateway": g.gateways, "HTTPRoute": g.routes,
		"ReferenceGrant": g.grants, "Namespace": g.namespaces,
	} {
		if err := inf.SetTransform(trim); err != nil {
			return fmt.Errorf("watch %s: %w", kind, err)
		}
		if _, err := inf.AddEventHandler(h.handlers(kind)); err != nil {
			return fmt.Errorf("watch %s: %w", kind, err)
		}
		w.informers = append(w.informers, inf)
		w.synced = append(w.synced, inf.HasSynced)
	}
	w.gateway = g
	return nil
}

// addGatewaySnapshot fills the Gateway API part of snap.
func (w *Watcher) addGatewaySnapshot(snap *model.Snapshot) {
	g := w.gateway
	if g == nil {
		return
	}
	snap.GatewayClasses = listAs[*gatewayv1.GatewayClass](g.classes)
	snap.Gateways = listAs[*gatewayv1.Gateway](g.gateways)
	snap.HTTPRoutes = listAs[*gatewayv1.HTTPRoute](g.routes)
	snap.ReferenceGrants = listAs[*gatewayv1.ReferenceGrant](g.grants)
	snap.Namespaces = listAs[*corev1.Namespace](g.namespaces)
}

// ListGateway reads the Gateway API objects once, for the dry-run.
func ListGateway(ctx context.Context, gw gatewayclient.Interface, client kubernetes.Interface, scope Scope, snap *model.Snapshot) error {
	opts := metav1.ListOptions{}
	v1 := gw.GatewayV1()
	classes, err := v1.GatewayClasses().List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list gatewayclasses: %w", err)
	}
	for i := range classes.Items {
		snap.GatewayClasses = append(snap.GatewayClasses, &classes.Items[i])
	}
	gateways, err := v1.Gateways(scope.Namespace).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list gateways: %w", err)
	}
	for i := range gateways.Items {
		snap.Gateways = append(snap.Gateways, &gateways.Items[i])
	}
	routes, err := v1.HTTPRoutes(scope.Namespace).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list httproutes: %w", err)
	}
	for i := range routes.Items {
		snap.HTTPRoutes = append(snap.HTTPRoutes, &routes.Items[i])
	}
	grants, err := v1.ReferenceGrants(scope.Namespace).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list referencegrants: %w", err)
	}
	for i := range grants.Items {
		snap.ReferenceGrants = append(snap.ReferenceGrants, &grants.Items[i])
	}
	nss, err := client.CoreV1().Namespaces().List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for i := range nss.Items {
		snap.Namespaces = append(snap.Namespaces, &nss.Items[i])
	}
	return nil
}

// gatewayChanged reports whether an update of a Gateway API object or a
// Namespace changed what the model reads: the spec (its generation) and
// the labels of Namespaces; never the status Bollard writes.
func gatewayChanged(old, cur any) (changed, known bool) {
	switch a := old.(type) {
	case *gatewayv1.GatewayClass:
		b, ok := cur.(*gatewayv1.GatewayClass)
		return !ok || a.Generation != b.Generation || !equality.Semantic.DeepEqual(a.Spec, b.Spec), true
	case *gatewayv1.Gateway:
		b, ok := cur.(*gatewayv1.Gateway)
		return !ok || a.Generation != b.Generation || !equality.Semantic.DeepEqual(a.Spec, b.Spec), true
	case *gatewayv1.HTTPRoute:
		b, ok := cur.(*gatewayv1.HTTPRoute)
		return !ok || a.Generation != b.Generation || !equality.Semantic.DeepEqual(a.Spec, b.Spec), true
	case *gatewayv1.ReferenceGrant:
		b, ok := cur.(*gatewayv1.ReferenceGrant)
		return !ok || !equality.Semantic.DeepEqual(a.Spec, b.Spec), true
	case *corev1.Namespace:
		b, ok := cur.(*corev1.Namespace)
		return !ok || !maps.Equal(a.Labels, b.Labels), true
	}
	return false, false
}

// GatewayClass returns the cached GatewayClass, Gateway or HTTPRoute for
// status updates (nil when not cached).
func (w *Watcher) GatewayClass(name string) *gatewayv1.GatewayClass {
	return cached[*gatewayv1.GatewayClass](w.gatewayInformer(func(g *gatewayInformers) cache.SharedIndexInformer { return g.classes }), name)
}

// Gateway returns the cached Gateway.
func (w *Watcher) Gateway(namespace, name string) *gatewayv1.Gateway {
	return cached[*gatewayv1.Gateway](w.gatewayInformer(func(g *gatewayInformers) cache.SharedIndexInformer { return g.gateways }), namespace+"/"+name)
}

// HTTPRoute returns the cached HTTPRoute.
func (w *Watcher) HTTPRoute(namespace, name string) *gatewayv1.HTTPRoute {
	return cached[*gatewayv1.HTTPRoute](w.gatewayInformer(func(g *gatewayInformers) cache.SharedIndexInformer { return g.routes }), namespace+"/"+name)
}

func (w *Watcher) gatewayInformer(pick func(*gatewayInformers) cache.SharedIndexInformer) cache.SharedIndexInformer {
	if w.gateway == nil {
		return nil
	}
	return pick(w.gateway)
}

func cached[T any](inf cache.SharedIndexInformer, key string) T {
	var zero T
	if inf == nil {
		return zero
	}
	item, ok, err := inf.GetStore().GetByKey(key)
	if err != nil || !ok {
		return zero
	}
	obj, ok := item.(T)
	if !ok {
		return zero
	}
	return obj
}
