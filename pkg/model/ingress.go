package model

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// Annotations Bollard reads from Ingresses.
const (
	AnnotationPrefix      = "bollard.io/"
	AnnotationSSLRedirect = AnnotationPrefix + "ssl-redirect"
)

// fieldError is one problem found while validating an object.
type fieldError struct {
	field  string
	reason string
	// missing: the problem is a referenced object that does not exist.
	missing bool
}

func (b *builder) addIngress(ing *networkingv1.Ingress) {
	id := ing.Namespace + "/" + ing.Name
	if msg, refused := b.opts.Refused[id]; refused {
		b.rejections = append(b.rejections, Rejection{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name, Field: "spec",
			Reason: "HAProxy refused the configuration with this Ingress (" + msg + "); it is left out until it, its Secrets or the options of its Services change", Refused: true})
		return
	}
	v, ok := b.validated[ing]
	if !ok {
		v = b.validateIngress(ing)
	}
	sslRedirect, errs := v.route.SSLRedirect, v.errs
	for _, w := range v.warnings {
		b.warn("Ingress", ing.Namespace, ing.Name, w.field, w.reason)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			b.rejections = append(b.rejections, Rejection{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name, Field: e.field, Reason: e.reason, Missing: e.missing})
		}
		return
	}
	if p := v.route.Policy; p != nil && p.AuthType != "" {
		if err := b.useUserlist(ing.Namespace, p.AuthSecret); err != nil {
			b.reject("Ingress", ing.Namespace, ing.Name, annotationField(AnnotationPrefix+"auth-secret"), err.Error())
			return
		}
	}
	b.config.Served = append(b.config.Served, id)
	policy := ""
	if v.route.Policy.Active() {
		policy = id
		b.policies[id] = v.route.Policy
	}
	ingressHostKeys := map[string]bool{}
	specificHosts := false
	for i, rule := range ing.Spec.Rules {
		hostKey := hostKeyOf(rule.Host)
		specificHosts = specificHosts || rule.Host != ""
		if reason := b.foreignHost(ing.Namespace, hostKey); reason != "" {
			// Leaving the host out of ingressHostKeys also keeps this
			// Ingress's default backend and TLS hosts off it.
			b.reject("Ingress", ing.Namespace, ing.Name, fmt.Sprintf("spec.rules[%d].host", i), reason)
			if ing.Spec.DefaultBackend != nil && rule.Host != "" {
				b.reject("Ingress", ing.Namespace, ing.Name, "spec.defaultBackend", reason)
			}
			continue
		}
		ingressHostKeys[hostKey] = true
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			// Made only for a rejection: a full build visits every path.
			pathField := func() string { return fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j) }
			backend, ok := b.backendFor(ing, p.Backend, func() string { return pathField() + ".backend" })
			if !ok {
				continue
			}
			exact, path := normalizePath(p)
			if v.route.Policy != nil && v.route.Policy.RewriteTarget != "" && !exact && strings.Count(path, "/") > MaxRewriteDepth {
				b.reject("Ingress", ing.Namespace, ing.Name, pathField()+".path", fmt.Sprintf(
					"rewrite-target replaces Prefix paths of at most %d segments; this one has %d", MaxRewriteDepth, strings.Count(path, "/")))
				continue
			}
			key := routeKey{hostKey: hostKey, exact: exact, path: path}
			if owner, taken := b.routes[key]; taken {
				shown := fmt.Sprintf("%q", p.Path)
				if n, _ := NormalizePath(p.Path); n != p.Path {
					shown += fmt.Sprintf(" (normalised %q)", n)
				}
				reason := fmt.Sprintf("host %q path %s is already routed by the older Ingress %s", displayHost(hostKey), shown, owner.ingress)
				if owner.ingress == id {
					reason = fmt.Sprintf("host %q path %s is already routed by an earlier rule of this Ingress", displayHost(hostKey), shown)
				}
				b.reject("Ingress", ing.Namespace, ing.Name, pathField()+".path", reason)
				continue
			}
			b.routes[key] = routeOwner{ingress: id, backend: backend, policy: policy}
			b.hostKeys[hostKey] = true
			b.claimOptions(ing.Namespace, ing.Name, backend, v.backend)
		}
	}
	if ing.Spec.DefaultBackend != nil {
		if backend := b.addIngressDefault(ing, ingressHostKeys, specificHosts, policy); backend != "" {
			b.claimOptions(ing.Namespace, ing.Name, backend, v.backend)
		}
	}
	clientCA := ""
	if v.route.Policy.ClientCert() != "" {
		ca, _, _ := b.caFile(ing.Namespace, ing.Annotations[AnnotationPrefix+"auth-tls-secret"])
		b.clientCAs[ca.FileName] = ca
		clientCA = ca.FileName
	}
	b.addTLS(ing, ingressHostKeys, sslRedirect, clientCA)
}

// addIngressDefault applies spec.defaultBackend: to the Ingress's own hosts
// when it names hosts, otherwise to every request that matches nothing. It
// returns the backend when some traffic goes to it.
func (b *builder) addIngressDefault(ing *networkingv1.Ingress, hostKeys map[string]bool, specificHosts bool, policy string) string {
	if specificHosts && len(hostKeys) == 0 {
		return "" // every host is owned by another namespace
	}
	backend, ok := b.backendFor(ing, *ing.Spec.DefaultBackend, func() string { return "spec.defaultBackend" })
	if !ok {
		return ""
	}
	if !specificHosts {
		if b.defaultFrom != "" {
			b.reject("Ingress", ing.Namespace, ing.Name, "spec.defaultBackend",
				"the catch-all default backend is already set by the older Ingress "+b.defaultFrom)
			return ""
		}
		b.defaultFrom = ing.Namespace + "/" + ing.Name
		b.defaultPolicy = policy
		b.config.DefaultBackend = backend
		return backend
	}
	used := false
	for key := range hostKeys {
		if _, taken := b.hostDefaults[key]; !taken {
			b.hostDefaults[key] = backend
			if policy != "" {
				b.hostDefaultPolicy[key] = policy
			}
			b.hostKeys[key] = true
			used = true
		}
	}
	if !used {
		return ""
	}
	return backend
}

func hostKeyOf(host string) string {
	if host == "" {
		return HostlessKey
	}
	return host
}

func displayHost(hostKey string) string {
	if hostKey == HostlessKey {
		return "*"
	}
	return hostKey
}

// normalizePath returns whether the path is Exact and the path to key it
// by: the normal form HAProxy gives requests (NormalizePath). Prefix paths
// lose their trailing slashes; ImplementationSpecific is treated as Prefix.
// checkPath has already refused the paths NormalizePath fails on.
func normalizePath(p networkingv1.HTTPIngressPath) (bool, string) {
	path, err := NormalizePath(p.Path)
	if err != nil {
		path = p.Path
	}
	if p.PathType != nil && *p.PathType == networkingv1.PathTypeExact {
		return true, path
	}
	return false, strings.TrimRight(path, "/")
}

// validateIngress checks everything of an Ingress that can reach a file or
// a socket, and parses its options. Any error leaves the whole Ingress out.
func (b *builder) validateIngress(ing *networkingv1.Ingress) validation {
	var errs []fieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldError{field: field, reason: fmt.Sprintf(format, args...)})
	}
	if err := validateObjectName(ing.Name); err != nil {
		add("metadata.name", "%v", err)
	}
	if err := validateNamespace(ing.Namespace); err != nil {
		add("metadata.namespace", "%v", err)
	}
	route, backend, annotationErrs, warnings := b.readAnnotations(ing.Namespace, ing.Annotations, false)
	errs = append(errs, annotationErrs...)
	paths := 0
	for i, rule := range ing.Spec.Rules {
		if rule.Host != "" {
			if err := validateHost(rule.Host); err != nil {
				add(fmt.Sprintf("spec.rules[%d].host", i), "%v", err)
			}
		}
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			paths++
			// The field name is made only for an error: a full build
			// checks every path of every Ingress.
			if e := checkPath(p); e != "" {
				add(fmt.Sprintf("spec.rules[%d].http.paths[%d].path", i, j), "%s", e)
			}
			errs = appendBackendErrors(errs, p.Backend, func() string {
				return fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j)
			})
		}
	}
	if paths > MaxPathsPerIngress {
		add("spec.rules", "the Ingress has %d paths, the limit is %d", paths, MaxPathsPerIngress)
	}
	if ing.Spec.DefaultBackend != nil {
		errs = appendBackendErrors(errs, *ing.Spec.DefaultBackend, func() string { return "spec.defaultBackend" })
	}
	if len(ing.Spec.TLS) > MaxTLSPerIngress {
		add("spec.tls", "the Ingress has %d TLS entries, the limit is %d", len(ing.Spec.TLS), MaxTLSPerIngress)
	}
	for i, tls := range ing.Spec.TLS {
		for j, host := range tls.Hosts {
			if err := validateHost(host); err != nil {
				add(fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j), "%v", err)
			}
		}
		if tls.SecretName != "" {
			if err := validateObjectName(tls.SecretName); err != nil {
				add(fmt.Sprintf("spec.tls[%d].secretName", i), "%v", err)
			}
		}
	}
	return validation{route: route, backend: backend, errs: errs, warnings: warnings}
}

func checkPath(p networkingv1.HTTPIngressPath) string {
	pathType := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pathType = *p.PathType
	}
	switch pathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path == "" {
			return ""
		}
	default:
		return fmt.Sprintf("pathType %s is not Exact, Prefix or ImplementationSpecific", printable(string(pathType)))
	}
	if err := validatePath(p.Path); err != nil {
		return err.Error()
	}
	if _, err := NormalizePath(p.Path); err != nil {
		return fmt.Sprintf("path %s has %v; HAProxy answers requests with one with 400, so the route could never match", printable(p.Path), err)
	}
	return ""
}

func appendBackendErrors(errs []fieldError, backend networkingv1.IngressBackend, fieldOf func() string) []fieldError {
	svc := backend.Service
	if svc == nil {
		return errs // a resource backend, or none: left out per path later
	}
	add := func(suffix string, err error) {
		errs = append(errs, fieldError{field: fieldOf() + suffix, reason: err.Error()})
	}
	if err := validateServiceName(svc.Name); err != nil {
		add(".service.name", err)
	}
	if svc.Port.Name != "" {
		if err := validatePortName(svc.Port.Name); err != nil {
			add(".service.port.name", err)
		}
	} else if err := validatePortNumber(svc.Port.Number); err != nil {
		add(".service.port.number", err)
	}
	return errs
}
