// Package modeltest builds Kubernetes objects for tests of the model, the
// renderer and the controller.
package modeltest

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// epoch is the creation time of every object unless Age says otherwise.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// IngressOption changes an Ingress under construction.
type IngressOption func(*networkingv1.Ingress)

// Ingress returns an Ingress of class "bollard".
func Ingress(namespace, name string, opts ...IngressOption) *networkingv1.Ingress {
	class := "bollard"
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, CreationTimestamp: metav1.NewTime(epoch)},
		Spec:       networkingv1.IngressSpec{IngressClassName: &class},
	}
	for _, o := range opts {
		o(ing)
	}
	return ing
}

// Age sets the creation time to the epoch plus d: a larger d is younger.
func Age(d time.Duration) IngressOption {
	return func(ing *networkingv1.Ingress) { ing.CreationTimestamp = metav1.NewTime(epoch.Add(d)) }
}

// Class sets spec.ingressClassName; "" removes it.
func Class(name string) IngressOption {
	return func(ing *networkingv1.Ingress) {
		if name == "" {
			ing.Spec.IngressClassName = nil
			return
		}
		ing.Spec.IngressClassName = &name
	}
}

// Annotation sets an annotation.
func Annotation(key, value string) IngressOption {
	return func(ing *networkingv1.Ingress) {
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		ing.Annotations[key] = value
	}
}

// Rule adds a rule for host ("" for every host) with the given paths.
func Rule(host string, paths ...networkingv1.HTTPIngressPath) IngressOption {
	return func(ing *networkingv1.Ingress) {
		rule := networkingv1.IngressRule{Host: host}
		if len(paths) > 0 {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: paths}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule)
	}
}

// DefaultBackend sets spec.defaultBackend.
func DefaultBackend(service string, port any) IngressOption {
	return func(ing *networkingv1.Ingress) {
		b := Backend(service, port)
		ing.Spec.DefaultBackend = &b
	}
}

// TLS adds a spec.tls entry.
func TLS(secret string, hosts ...string) IngressOption {
	return func(ing *networkingv1.Ingress) {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{SecretName: secret, Hosts: hosts})
	}
}

// Path is an HTTP path of the given type ("Exact", "Prefix" or
// "ImplementationSpecific") to a Service port given by number or name.
func Path(pathType, path, service string, port any) networkingv1.HTTPIngressPath {
	pt := networkingv1.PathType(pathType)
	return networkingv1.HTTPIngressPath{Path: path, PathType: &pt, Backend: Backend(service, port)}
}

// Backend is a Service backend; port is an int or a port name.
func Backend(service string, port any) networkingv1.IngressBackend {
	svc := &networkingv1.IngressServiceBackend{Name: service}
	switch p := port.(type) {
	case int:
		svc.Port.Number = int32(p)
	case string:
		svc.Port.Name = p
	}
	return networkingv1.IngressBackend{Service: svc}
}

// IngressClass returns an IngressClass for controller; isDefault marks it
// as the cluster default.
func IngressClass(name, controller string, isDefault bool) *networkingv1.IngressClass {
	c := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	if isDefault {
		c.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
	}
	return c
}

// Service returns a ClusterIP Service with the given ports.
func Service(namespace, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       corev1.ServiceSpec{Ports: ports},
	}
}

// ServicePort is a TCP Service port.
func ServicePort(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP}
}

// Endpoint is one EndpointSlice endpoint.
type Endpoint struct {
	Address     string
	Ready       bool
	Serving     bool
	Terminating bool
}

// Ready is a ready endpoint at addr.
func Ready(addr string) Endpoint { return Endpoint{Address: addr, Ready: true, Serving: true} }

// Slice returns an IPv4 EndpointSlice of service with one named port.
func Slice(namespace, service, name, portName string, port int32, eps ...Endpoint) *discoveryv1.EndpointSlice {
	proto := corev1.ProtocolTCP
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: service},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	for _, ep := range eps {
		ready, serving, terminating := ep.Ready, ep.Serving, ep.Terminating
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.Address},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		})
	}
	return s
}

// TLSSecret returns a kubernetes.io/tls Secret.
func TLSSecret(namespace, name string, certPEM, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
}

// AuthSecret builds an Opaque Secret with htpasswd lines under the key
// "auth", as the watcher keeps it.
func AuthSecret(namespace, name, htpasswd string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"auth": []byte(htpasswd)},
	}
}

// Password hashes of "secret" for tests: SHA-512 crypt (openssl passwd -6),
// SHA-256 crypt (openssl passwd -5), bcrypt cost 5 (htpasswd -nbB -C 5),
// and MD5 (openssl passwd -apr1), which Bollard refuses.
const (
	HashSHA512 = "$6$saltsaltsaltsalt$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1"
	HashSHA256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"
	HashBcrypt = "$2y$05$1LA9leAQIVaKE/mgcXo/auuk6yywU53HrZeIX0vGzio0f/iKtl3MC"
	HashAPR1   = "$apr1$X6x3r/1V$4PRFgbVjXP2xcYsAnq36v1"
)
