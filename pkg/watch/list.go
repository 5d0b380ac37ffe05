// Package watch reads Bollard's inputs from the API server: a one-shot
// List for the dry-run and informers for the controller.
package watch

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bollard-io/bollard/pkg/model"
)

// List reads every object the model uses within scope, with the same
// selectors and trimming as the informers.
func List(ctx context.Context, client kubernetes.Interface, scope Scope) (model.Snapshot, error) {
	var snap model.Snapshot
	namespace := scope.Namespace
	opts := metav1.ListOptions{}
	ingresses, err := client.NetworkingV1().Ingresses(namespace).List(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("list ingresses: %w", err)
	}
	for i := range ingresses.Items {
		snap.Ingresses = append(snap.Ingresses, &ingresses.Items[i])
	}
	classes, err := client.NetworkingV1().IngressClasses().List(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("list ingressclasses: %w", err)
	}
	for i := range classes.Items {
		snap.IngressClasses = append(snap.IngressClasses, &classes.Items[i])
	}
	services, err := client.CoreV1().Services(namespace).List(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("list services: %w", err)
	}
	for i := range services.Items {
		snap.Services = append(snap.Services, &services.Items[i])
	}
	slices, err := client.DiscoveryV1().EndpointSlices(namespace).List(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("list endpointslices: %w", err)
	}
	for i := range slices.Items {
		snap.EndpointSlices = append(snap.EndpointSlices, &slices.Items[i])
	}
	secrets, err := client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{FieldSelector: scope.secretSelector()})
	if err != nil {
		return snap, fmt.Errorf("list secrets: %w", err)
	}
	for i := range secrets.Items {
		trimSecret(&secrets.Items[i])
		snap.Secrets = append(snap.Secrets, &secrets.Items[i])
	}
	authSecrets, err := client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{FieldSelector: scope.authSecretSelector()})
	if err != nil {
		return snap, fmt.Errorf("list opaque secrets: %w", err)
	}
	for i := range authSecrets.Items {
		snap.AuthSecrets = append(snap.AuthSecrets, trimAuthSecret(&authSecrets.Items[i]))
	}
	cmNamespace, selector, ok := scope.configMap()
	if !ok {
		return snap, nil
	}
	configMaps, err := client.CoreV1().ConfigMaps(cmNamespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return snap, fmt.Errorf("list configmaps: %w", err)
	}
	for i := range configMaps.Items {
		snap.ConfigMaps = append(snap.ConfigMaps, &configMaps.Items[i])
	}
	return snap, nil
}
