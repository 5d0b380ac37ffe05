package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// BackendName names the backend of a Service port as the Ingress refers to
// it. Kubernetes names never contain '_', so the parts cannot run together.
func BackendName(namespace, service, port string) string {
	return namespace + "_" + service + "_" + port
}

func portRef(port networkingv1.ServiceBackendPort) string {
	if port.Name != "" {
		return port.Name
	}
	return strconv.Itoa(int(port.Number))
}

// backendFor returns the backend name for an Ingress backend, creating the
// backend on first use. A missing Service still gets a backend (it answers
// 503) so that routing is ready when the Service appears.
func (b *builder) backendFor(ing *networkingv1.Ingress, ref networkingv1.IngressBackend, fieldOf func() string) (string, bool) {
	if ref.Resource != nil {
		b.reject("Ingress", ing.Namespace, ing.Name, fieldOf()+".resource",
			"resource backends are not supported by Bollard; use a Service backend")
		return "", false
	}
	if ref.Service == nil {
		b.reject("Ingress", ing.Namespace, ing.Name, fieldOf(), "the backend names no Service")
		return "", false
	}
	be, problem := b.backend(ing.Namespace, ref.Service.Name, ref.Service.Port)
	if problem != "" {
		_, exists := b.services[ing.Namespace+"/"+ref.Service.Name]
		b.rejections = append(b.rejections, Rejection{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name,
			Field: fieldOf() + ".service", Reason: problem, Warning: true, Missing: !exists})
	}
	return be.Name, true
}

// backend returns (and caches) the backend of a Service port, with a
// problem description when its endpoints cannot be resolved.
func (b *builder) backend(namespace, service string, port networkingv1.ServiceBackendPort) (*Backend, string) {
	ref := portRef(port)
	name := BackendName(namespace, service, ref)
	if be, ok := b.backends[name]; ok {
		return be, b.backendProblem(namespace, service, port)
	}
	be := &Backend{Name: name, Namespace: namespace, Service: service, Port: ref}
	b.backends[name] = be
	svc, sp, problem := b.servicePort(namespace, service, port)
	if problem == "" {
		be.Endpoints = b.endpoints(svc, sp)
		if values := b.serviceOptionsOf(svc).values; values != nil {
			b.serviceValues[name] = values
		}
	}
	return be, problem
}

func (b *builder) backendProblem(namespace, service string, port networkingv1.ServiceBackendPort) string {
	_, _, problem := b.servicePort(namespace, service, port)
	return problem
}

func (b *builder) servicePort(namespace, service string, port networkingv1.ServiceBackendPort) (*corev1.Service, *corev1.ServicePort, string) {
	svc, ok := b.services[namespace+"/"+service]
	if !ok {
		return nil, nil, fmt.Sprintf("service %s/%s not found; its routes answer 503 until it exists", namespace, service)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil, nil, fmt.Sprintf("service %s/%s is of type ExternalName, which Bollard does not route to", namespace, service)
	}
	if sp := findServicePort(svc, port); sp != nil {
		if so := b.serviceOptionsOf(svc); so.problem != "" {
			return nil, nil, so.problem
		}
		return svc, sp, ""
	}
	return nil, nil, fmt.Sprintf("service %s/%s has no port %s; its routes answer 503", namespace, service, portRef(port))
}

// findServicePort returns the port of svc an Ingress refers to (nil: none).
func findServicePort(svc *corev1.Service, port networkingv1.ServiceBackendPort) *corev1.ServicePort {
	if svc == nil {
		return nil
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if (port.Name != "" && sp.Name == port.Name) || (port.Name == "" && sp.Port == port.Number) {
			return sp
		}
	}
	return nil
}

// endpoints collects the serving endpoints of a Service port from its
// EndpointSlices. Ready endpoints serve; terminating ones that still serve
// drain.
func (b *builder) endpoints(svc *corev1.Service, sp *corev1.ServicePort) []Endpoint {
	found := map[netip.AddrPort]bool{} // value: draining
	for _, slice := range b.slices[svc.Namespace+"/"+svc.Name] {
		b.sliceEndpoints(slice, sp.Name, found)
	}
	eps := make([]Endpoint, 0, len(found))
	for ap, draining := range found {
		eps = append(eps, Endpoint{Address: ap.Addr(), Port: int32(ap.Port()), Draining: draining})
	}
	slices.SortFunc(eps, func(x, y Endpoint) int {
		return cmp.Or(x.Address.Compare(y.Address), cmp.Compare(x.Port, y.Port))
	})
	return eps
}

func (b *builder) sliceEndpoints(slice *discoveryv1.EndpointSlice, portName string, found map[netip.AddrPort]bool) {
	if slice.AddressType != discoveryv1.AddressTypeIPv4 && slice.AddressType != discoveryv1.AddressTypeIPv6 {
		return // FQDN slices name hosts, not addresses
	}
	var port int32
	for i, p := range slice.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != portName || p.Port == nil || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
			continue
		}
		if err := validatePortNumber(*p.Port); err != nil {
			b.rejectSlice(slice, fmt.Sprintf("ports[%d].port", i), err.Error())
			return
		}
		port = *p.Port
	}
	if port == 0 {
		return
	}
	for i, ep := range slice.Endpoints {
		ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
		serving := ep.Conditions.Serving != nil && *ep.Conditions.Serving
		terminating := ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
		if len(ep.Addresses) == 0 || !(ready || (serving && terminating)) {
			continue
		}
		addr, err := parseEndpointAddress(ep.Addresses[0], slice.AddressType)
		if err == nil {
			err = b.checkEndpointRange(addr)
		}
		if err != nil {
			b.rejectSlice(slice, fmt.Sprintf("endpoints[%d].addresses[0]", i), err.Error())
			continue
		}
		ap := netip.AddrPortFrom(addr, uint16(port))
		draining := !ready
		if prev, seen := found[ap]; !seen || prev {
			found[ap] = draining
		}
	}
}

func parseEndpointAddress(s string, family discoveryv1.AddressType) (netip.Addr, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("address %s is not an IP address", printable(s))
	}
	if (family == discoveryv1.AddressTypeIPv4) != addr.Is4() || addr.Is4In6() {
		return netip.Addr{}, fmt.Errorf("address %s does not match the slice's addressType %s", s, family)
	}
	if addr.IsUnspecified() || addr.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("address %s cannot receive traffic", s)
	}
	return addr, nil
}

// controllerDefaultBackend applies --default-backend-service when no
// Ingress set a catch-all default backend.
func (b *builder) controllerDefaultBackend() {
	ref := b.opts.DefaultBackendService
	if ref == "" || b.config.DefaultBackend != "" {
		return
	}
	namespace, name, portText, err := splitServiceRef(ref)
	if err != nil {
		b.reject("Service", "", ref, "--default-backend-service", err.Error())
		return
	}
	var port networkingv1.ServiceBackendPort
	switch {
	case portText != "":
		port = parsePortRef(portText)
	default:
		svc, ok := b.services[namespace+"/"+name]
		if !ok || len(svc.Spec.Ports) == 0 {
			b.reject("Service", namespace, name, "--default-backend-service", "service not found or has no ports, and the flag names no port")
			return
		}
		first := svc.Spec.Ports[0]
		port = networkingv1.ServiceBackendPort{Name: first.Name}
		if first.Name == "" {
			port = networkingv1.ServiceBackendPort{Number: first.Port}
		}
	}
	be, problem := b.backend(namespace, name, port)
	if problem != "" {
		b.warn("Service", namespace, name, "--default-backend-service", problem)
	}
	b.config.DefaultBackend = be.Name
}

func parsePortRef(s string) networkingv1.ServiceBackendPort {
	if n, err := strconv.Atoi(s); err == nil {
		return networkingv1.ServiceBackendPort{Number: int32(n)}
	}
	return networkingv1.ServiceBackendPort{Name: s}
}

// splitServiceRef parses "namespace/name[:port]" and validates each part.
func splitServiceRef(ref string) (namespace, name, port string, err error) {
	namespace, rest, ok := strings.Cut(ref, "/")
	if !ok {
		return "", "", "", fmt.Errorf("%s is not of the form namespace/name[:port]", printable(ref))
	}
	name, port, _ = strings.Cut(rest, ":")
	if err := validateServiceName(namespace); err != nil {
		return "", "", "", fmt.Errorf("namespace: %w", err)
	}
	if err := validateServiceName(name); err != nil {
		return "", "", "", err
	}
	if port != "" {
		p := parsePortRef(port)
		if p.Name != "" {
			err = validatePortName(p.Name)
		} else {
			err = validatePortNumber(p.Number)
		}
	}
	return namespace, name, port, err
}
