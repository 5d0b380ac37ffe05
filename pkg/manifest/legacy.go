package manifest

import (
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fromExtensionsV1beta1 converts the pre-1.14 Ingress. Its spec has the
// same shape as networking.k8s.io/v1beta1, so it goes through that.
func fromExtensionsV1beta1(in *extensionsv1beta1.Ingress) *networkingv1.Ingress {
	mid := &networkingv1beta1.Ingress{ObjectMeta: in.ObjectMeta}
	mid.Spec.IngressClassName = in.Spec.IngressClassName
	if in.Spec.Backend != nil {
		b := networkingv1beta1.IngressBackend{ServiceName: in.Spec.Backend.ServiceName, ServicePort: in.Spec.Backend.ServicePort, Resource: in.Spec.Backend.Resource}
		mid.Spec.Backend = &b
	}
	for _, t := range in.Spec.TLS {
		mid.Spec.TLS = append(mid.Spec.TLS, networkingv1beta1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range in.Spec.Rules {
		rule := networkingv1beta1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1beta1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1beta1.HTTPIngressPath{
					Path:     p.Path,
					PathType: (*networkingv1beta1.PathType)(p.PathType),
					Backend:  networkingv1beta1.IngressBackend{ServiceName: p.Backend.ServiceName, ServicePort: p.Backend.ServicePort, Resource: p.Backend.Resource},
				})
			}
		}
		mid.Spec.Rules = append(mid.Spec.Rules, rule)
	}
	return fromNetworkingV1beta1(mid)
}

// fromNetworkingV1beta1 converts as the API server does: spec.backend
// becomes spec.defaultBackend, serviceName/servicePort become
// service.name/service.port, and a missing pathType is
// ImplementationSpecific.
func fromNetworkingV1beta1(in *networkingv1beta1.Ingress) *networkingv1.Ingress {
	out := &networkingv1.Ingress{ObjectMeta: in.ObjectMeta}
	out.APIVersion, out.Kind = "networking.k8s.io/v1", "Ingress"
	out.Spec.IngressClassName = in.Spec.IngressClassName
	if in.Spec.Backend != nil {
		b := convertBackend(*in.Spec.Backend)
		out.Spec.DefaultBackend = &b
	}
	for _, t := range in.Spec.TLS {
		out.Spec.TLS = append(out.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range in.Spec.Rules {
		rule := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				pathType := networkingv1.PathTypeImplementationSpecific
				if p.PathType != nil {
					pathType = networkingv1.PathType(*p.PathType)
				}
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{
					Path:     p.Path,
					PathType: &pathType,
					Backend:  convertBackend(p.Backend),
				})
			}
		}
		out.Spec.Rules = append(out.Spec.Rules, rule)
	}
	return out
}

func convertBackend(in networkingv1beta1.IngressBackend) networkingv1.IngressBackend {
	if in.Resource != nil {
		return networkingv1.IngressBackend{Resource: in.Resource}
	}
	svc := &networkingv1.IngressServiceBackend{Name: in.ServiceName}
	if in.ServicePort.Type == intstr.String {
		svc.Port.Name = in.ServicePort.StrVal
	} else {
		svc.Port.Number = in.ServicePort.IntVal
	}
	return networkingv1.IngressBackend{Service: svc}
}
