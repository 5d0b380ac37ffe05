// Package model turns a snapshot of Kubernetes objects into the routing
// model Bollard renders. It is pure: no I/O, no clocks (time comes in Options).
package model

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Snapshot is everything the model reads. Slices may be in any order.
type Snapshot struct {
	Ingresses      []*networkingv1.Ingress
	IngressClasses []*networkingv1.IngressClass
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Secrets        []*corev1.Secret
	// AuthSecrets are the Opaque Secrets, trimmed to their AuthSecretKey:
	// a Secret of another type never serves as an auth Secret.
	AuthSecrets []*corev1.Secret
	ConfigMaps  []*corev1.ConfigMap

	// The Gateway API objects, and the Namespaces whose labels
	// allowedRoutes selectors match.
	GatewayClasses  []*gatewayv1.GatewayClass
	Gateways        []*gatewayv1.Gateway
	HTTPRoutes      []*gatewayv1.HTTPRoute
	ReferenceGrants []*gatewayv1.ReferenceGrant
	Namespaces      []*corev1.Namespace
}

// Options are the controller-wide settings that shape the model.
type Options struct {
	// IngressClass is the class name Bollard answers to when no IngressClass
	// object of that name exists (and the legacy annotation value it honours).
	IngressClass string
	// ControllerName is matched against IngressClass.spec.controller.
	ControllerName string
	// WatchIngressWithoutClass takes Ingresses that name no class.
	WatchIngressWithoutClass bool
	// WatchNamespace limits the model to one namespace ("" = all).
	WatchNamespace string
	// DefaultBackendService is "namespace/name" or "namespace/name:port".
	DefaultBackendService string
	// DefaultSSLCertificate is "namespace/name" of a TLS Secret.
	DefaultSSLCertificate string
	// GlobalConfigMap is "namespace/name" of the ConfigMap with global options.
	GlobalConfigMap string
	// FallbackCertificate is a PEM (certificate and key) used as the default
	// certificate when DefaultSSLCertificate is unset or invalid.
	FallbackCertificate []byte
	// Now is used to warn about expired certificates.
	Now time.Time
	// Refused maps "namespace/name" of Ingresses that HAProxy refused
	// (haproxy -c failed with them and passed without them) to HAProxy's
	// message. The controller finds them; they are left out until they or
	// their Secrets change.
	Refused map[string]string
	// TLS is what HAProxy's TLS library accepts in a certificate chain
	// (haproxy.ProbeTLSPolicy); the zero value is OpenSSL security level 2.
	TLS TLSPolicy

	// Tenancy (tenancy.go, docs/architecture.md "Tenancy").
	// HostOwnership decides whether several namespaces may serve one host
	// ("" behaves as HostOwnershipShared).
	HostOwnership HostOwnership
	// EndpointCIDRs, when not empty, are the only prefixes endpoint
	// addresses may come from. Loopback and link-local addresses are
	// refused whatever it holds, unless a prefix names their range.
	EndpointCIDRs []netip.Prefix

	// Gateway API (gateway*.go). GatewayControllerName is the GatewayClass
	// controllerName served; "" turns the Gateway API off.
	GatewayControllerName string
	// GatewayLoopback gives each Gateway its own loopback address, which
	// its listeners bind (test clusters). Else every Gateway binds the
	// frontends' address: its HTTP listeners on IngressHTTPPort and its
	// HTTPS listeners on IngressHTTPSPort share the Ingress frontends
	// (behind the LoadBalancer Service), and ReservedPorts, where HAProxy
	// or the controller listen already, are refused to listeners.
	GatewayLoopback  bool
	IngressHTTPPort  int32
	IngressHTTPSPort int32
	ReservedPorts    []int32
}

// Defaults used by the CLI and the controller.
const (
	DefaultIngressClass   = "bollard"
	DefaultControllerName = "bollard.io/ingress-controller"
)

// DefaultOptions returns Options with the documented defaults.
func DefaultOptions() Options {
	return Options{IngressClass: DefaultIngressClass, ControllerName: DefaultControllerName}
}
