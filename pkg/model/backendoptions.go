package model

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BackendOptions are a backend's directives in haproxy.cfg: a change is a
// reload. The zero value renders the backend as before options existed.
// The options HAProxy reads per request from maps (timeout-server,
// timeout-tunnel, proxy-body-size) are in Config.Maps instead.
type BackendOptions struct {
	// TimeoutConnect is 0 when the defaults section's applies.
	TimeoutConnect time.Duration
	// Protocol is "" for plain HTTP/1.1.
	Protocol BackendProtocol
	// CAFile names the backend's CA bundle under CADir; "" is no
	// verification of the endpoints' certificates.
	CAFile string
	// SNI is a host name or SNIFromRequest; "" sends none.
	SNI string
	// Balance is "" for roundrobin, HAProxy's default.
	Balance string
	// HealthCheckPath is "" for a TCP check (when checks are on).
	HealthCheckPath string
	// HealthCheckInterval is 0 when checks are off.
	HealthCheckInterval time.Duration
	// AffinityCookie is the name of the affinity cookie, "" for none.
	AffinityCookie string
	// AuthRules are the basic-auth rules of the policies routed here,
	// sorted and joined by "\n": each is "USERLIST|REALM", a rule of the
	// backend (AuthRuleKey).
	AuthRules string
	// Policies is set when a route to the backend has a route policy: the
	// backend then runs the policy rules (render.PolicyDefaultsName).
	Policies bool
	// RequestHeaders and ResponseHeaders are the names, sorted and joined
	// by ",", of the headers that the policies routed here set: each is a
	// rule of the backend.
	RequestHeaders  string
	ResponseHeaders string
}

// DefaultHealthCheckInterval is the interval of checks that a path turns on.
const DefaultHealthCheckInterval = 2 * time.Second

// CAFile is a CA bundle that backends verify their endpoints with.
type CAFile struct {
	FileName string
	Secret   string
	PEM      []byte
}

// optionValues are parsed option values by option name.
type optionValues map[string]any

// optionSource names the object an option value came from, for warnings.
type optionSource struct {
	kind, namespace, name string
}

// optionClaim is a backend option set by an Ingress.
type optionClaim struct {
	value   any
	ingress string
}

// NoteServiceAnswers503 ends the reason of a Service with an invalid
// annotation; the controller replaces it when it keeps the Service's last
// good version serving.
const NoteServiceAnswers503 = "; its routes answer 503 until it is fixed"

// serviceOptions are a Service's backend options, parsed once per Build.
type serviceOptions struct {
	values optionValues
	// problem is set when an annotation is invalid: the Service's routes
	// answer 503 rather than serve with an option left out.
	problem string
}

// readAnnotations parses the bollard.io annotations of an object. Route
// options are refused on a Service.
func (b *builder) readAnnotations(namespace string, annotations map[string]string, onService bool) (RouteSettings, optionValues, []fieldError, []fieldError) {
	route := RouteSettings{SSLRedirect: b.config.Global.SSLRedirect}
	var values optionValues
	var errs []fieldError
	var routeSet map[string]bool
	keys := make([]string, 0, len(annotations))
	for key := range annotations {
		if strings.HasPrefix(key, AnnotationPrefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		value := annotations[key]
		field := annotationField(key)
		fail := func(format string, args ...any) {
			errs = append(errs, fieldError{field: field, reason: fmt.Sprintf(format, args...)})
		}
		opt := b.optionIndex[strings.TrimPrefix(key, AnnotationPrefix)]
		switch {
		case len(value) > MaxAnnotationLength:
			fail("value is %d bytes long, the limit is %d", len(value), MaxAnnotationLength)
			continue
		case opt == nil || opt.Annotation() == "":
			fail("unknown Bollard annotation")
			continue
		case onService && opt.backend == nil:
			fail("%s is an Ingress annotation; a Service carries only backend options", key)
			continue
		}
		v, err := opt.parse(value)
		if err != nil {
			fail("%v", err)
			continue
		}
		if opt.Name == "auth-tls-secret" {
			ca, problem, missing := b.caFile(namespace, v.(string))
			if problem != "" {
				errs = append(errs, fieldError{field: field, reason: problem, missing: missing})
				continue
			}
			v = ca.FileName
		}
		if opt.route != nil {
			opt.route(&route, v)
			if routeSet == nil {
				routeSet = map[string]bool{}
			}
			routeSet[opt.Name] = true
			continue
		}
		if opt.Name == "backend-ca-secret" {
			if _, problem, missing := b.caFile(namespace, v.(string)); problem != "" {
				errs = append(errs, fieldError{field: field, reason: problem, missing: missing})
				continue
			}
		}
		if values == nil {
			values = optionValues{}
		}
		values[opt.Name] = v
	}
	if p := route.Policy; p != nil && p.AuthType != "" && p.AuthSecret != "" {
		if res := b.authUserlist(namespace, p.AuthSecret); res.problem != "" {
			errs = append(errs, fieldError{field: annotationField(AnnotationPrefix + "auth-secret"), reason: res.problem, missing: res.missing})
		}
	}
	var warnings []fieldError
	if route.Policy != nil && len(errs) == 0 {
		policyErrs, policyWarnings := checkPolicy(route.Policy, routeSet)
		errs = append(errs, policyErrs...)
		warnings = policyWarnings
	}
	return route, values, errs, warnings
}

// annotationField is the Field of a rejection about an annotation: every
// rejection names it the same way, quoted, whether it reports a bad value
// or a Warning.
func annotationField(key string) string {
	return fmt.Sprintf("metadata.annotations[%s]", printable(key))
}

// claimOptions applies an Ingress's backend options to a backend it routes
// to. The oldest Ingress wins a conflict; the others get a Warning.
func (b *builder) claimOptions(ingNamespace, ingName, backend string, values optionValues) {
	if len(values) == 0 {
		return
	}
	id := ingNamespace + "/" + ingName
	claims := b.optionClaims[backend]
	if claims == nil {
		claims = map[string]optionClaim{}
		b.optionClaims[backend] = claims
	}
	for name, v := range values {
		held, taken := claims[name]
		switch {
		case !taken:
			claims[name] = optionClaim{value: v, ingress: id}
		case held.value != v && held.ingress != id:
			b.warn("Ingress", ingNamespace, ingName, annotationField(AnnotationPrefix+name),
				fmt.Sprintf("backend %s already has %s %s from the older Ingress %s, which wins; this value is not applied", backend, name, showValue(held.value), held.ingress))
		}
	}
}

// serviceOptionsOf parses a Service's annotations once per Build. Most
// Services carry no option: they cost one pass over their annotations and
// no allocation.
func (b *builder) serviceOptionsOf(svc *corev1.Service) serviceOptions {
	if !hasOptions(svc.Annotations) {
		return serviceOptions{}
	}
	key := svc.Namespace + "/" + svc.Name
	if so, ok := b.serviceOpts[key]; ok {
		return so
	}
	var so serviceOptions
	var errs []fieldError
	_, so.values, errs, _ = b.readAnnotations(svc.Namespace, svc.Annotations, true)
	for _, e := range errs {
		b.rejections = append(b.rejections, Rejection{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name, Field: e.field, Reason: e.reason, Missing: e.missing})
	}
	if len(errs) > 0 {
		so.problem = fmt.Sprintf("service %s/%s has an invalid annotation (%s: %s)", svc.Namespace, svc.Name, errs[0].field, errs[0].reason) + NoteServiceAnswers503
	}
	b.serviceOpts[key] = so
	return so
}

func hasOptions(annotations map[string]string) bool {
	for key := range annotations {
		if strings.HasPrefix(key, AnnotationPrefix) {
			return true
		}
	}
	return false
}

// resolveBackend computes a backend's options: Ingress > Service >
// ConfigMap default > built-in default. It fills be.Options and adds the
// backend's entries of the per-request maps.
func (b *builder) resolveBackend(be *Backend) {
	svcValues := b.serviceValues[be.Name]
	claims := b.optionClaims[be.Name]
	if claims == nil && svcValues == nil && b.configMapBackend == nil {
		return // nothing set: the zero options, no map entry
	}
	var s BackendSettings
	sources := map[string]optionSource{}
	for i := range b.optionTable {
		opt := &b.optionTable[i]
		if opt.backend == nil {
			continue
		}
		if c, ok := claims[opt.Name]; ok {
			ns, name, _ := strings.Cut(c.ingress, "/")
			opt.backend(&s, c.value)
			sources[opt.Name] = optionSource{"Ingress", ns, name}
		} else if v, ok := svcValues[opt.Name]; ok {
			opt.backend(&s, v)
			sources[opt.Name] = optionSource{"Service", be.Namespace, be.Service}
		} else if v, ok := b.configMapBackend[opt.Name]; ok {
			opt.backend(&s, v)
		}
	}
	g := b.config.Global.Timeouts
	o := &be.Options
	if s.TimeoutConnect != 0 && s.TimeoutConnect != g.Connect {
		o.TimeoutConnect = s.TimeoutConnect
	}
	if s.Protocol != ProtocolHTTP {
		o.Protocol = s.Protocol
	}
	if s.Balance != "roundrobin" {
		o.Balance = s.Balance
	}
	o.HealthCheckPath = s.HealthCheckPath
	if s.HealthCheckPath != "" || s.HealthCheckInterval != 0 {
		o.HealthCheckInterval = cmp.Or(s.HealthCheckInterval, DefaultHealthCheckInterval)
	}
	if s.Affinity == "cookie" {
		o.AffinityCookie = cmp.Or(s.AffinityCookie, DefaultAffinityCookie)
	}
	b.tlsOptions(be, s, sources)
	m := &b.config.Maps
	if s.TimeoutServer != 0 && s.TimeoutServer != g.Server {
		m.ServerTimeouts = append(m.ServerTimeouts, MapEntry{Key: be.Name, Value: strconv.FormatInt(s.TimeoutServer.Milliseconds(), 10)})
	}
	if s.TimeoutTunnel != 0 && s.TimeoutTunnel != g.Tunnel {
		m.TunnelTimeouts = append(m.TunnelTimeouts, MapEntry{Key: be.Name, Value: strconv.FormatInt(s.TimeoutTunnel.Milliseconds(), 10)})
	}
	if s.BodySize > 0 {
		m.BodySizes = append(m.BodySizes, MapEntry{Key: be.Name, Value: strconv.FormatInt(s.BodySize, 10)})
	}
}

// tlsOptions sets the options of a TLS backend; on a plain one, the TLS
// options have no effect, and whoever set them gets a Warning.
func (b *builder) tlsOptions(be *Backend, s BackendSettings, sources map[string]optionSource) {
	if !s.Protocol.TLS() {
		for _, name := range []string{"backend-ca-secret", "backend-sni"} {
			if src, ok := sources[name]; ok {
				b.warn(src.kind, src.namespace, src.name, annotationField(AnnotationPrefix+name),
					fmt.Sprintf("has no effect on backend %s: its backend-protocol is not HTTPS, H2 or GRPCS", be.Name))
			}
		}
		return
	}
	be.Options.SNI = s.SNI
	if s.CASecret == "" {
		return
	}
	ca, problem, _ := b.caFile(be.Namespace, s.CASecret)
	if problem != "" {
		// readAnnotations checked it; only a ConfigMap cannot name one.
		return
	}
	be.Options.CAFile = ca.FileName
	b.cas[ca.FileName] = ca
}

// caResult is a parsed CA Secret: the bundle, or why it cannot be one.
type caResult struct {
	ca      CAFile
	problem string
	missing bool
}

// caFile parses a CA Secret once per Build: every Ingress that names it,
// and the backend that uses it, read the same result.
func (b *builder) caFile(namespace, name string) (CAFile, string, bool) {
	key := namespace + "/" + name
	res, ok := b.parsedCAs[key]
	if !ok {
		res.ca, res.problem, res.missing = b.parseCA(namespace, name)
		b.parsedCAs[key] = res
	}
	return res.ca, res.problem, res.missing
}

// parseCA reads a CA bundle from the Secret's ca.crt and re-encodes it, so
// that only well-formed certificates reach disk.
func (b *builder) parseCA(namespace, name string) (CAFile, string, bool) {
	b.readSecret(namespace + "/" + name)
	secret, ok := b.secrets[namespace+"/"+name]
	if !ok {
		return CAFile{}, fmt.Sprintf("secret %s/%s not found (a CA Secret must be of type kubernetes.io/tls, as cert-manager writes them)", namespace, name), true
	}
	data := secret.Data[caCertKey]
	if len(data) == 0 {
		return CAFile{}, fmt.Sprintf("secret %s/%s has no %s", namespace, name, caCertKey), false
	}
	if len(data) > MaxSecretDataBytes {
		return CAFile{}, fmt.Sprintf("secret %s/%s holds a %s of %d bytes, the limit is %d", namespace, name, caCertKey, len(data), MaxSecretDataBytes), false
	}
	var out bytes.Buffer
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return CAFile{}, fmt.Sprintf("secret %s/%s: %s holds an invalid certificate: %v", namespace, name, caCertKey, err), false
		}
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	}
	if out.Len() == 0 {
		return CAFile{}, fmt.Sprintf("secret %s/%s: %s holds no PEM certificate", namespace, name, caCertKey), false
	}
	return CAFile{FileName: CertificateFileName(namespace, name), Secret: namespace + "/" + name, PEM: out.Bytes()}, "", false
}

// caCertKey is the key of a CA bundle in a Secret.
const caCertKey = "ca.crt"

func showValue(v any) string {
	switch v := v.(type) {
	case time.Duration:
		return v.String()
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}
