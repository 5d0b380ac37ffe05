package model

import (
	"net/netip"
	"slices"
)

// RoutePolicy is what an Ingress's route annotations ask of its requests
// (docs/annotations.md). HAProxy reads every value per request from maps
// (Config.Maps), keyed by the Ingress: a changed value is a map update,
// never a reload. The zero value is no policy.
type RoutePolicy struct {
	// AllowList and DenyList are masked, sorted and without duplicates.
	AllowList []netip.Prefix
	DenyList  []netip.Prefix
	// LimitRPS and LimitConnections are per client address and Ingress;
	// 0 is no limit.
	LimitRPS         int
	LimitConnections int

	CORS                 bool
	CORSAllowOrigins     []string // "*" alone, or origins
	CORSAllowMethods     string
	CORSAllowHeaders     string
	CORSAllowCredentials bool
	CORSMaxAge           int // seconds

	HSTS                  bool
	HSTSMaxAge            int // seconds
	HSTSIncludeSubdomains bool
	HSTSPreload           bool

	// RequestHeaders and ResponseHeaders are sorted by name (lower case),
	// one value per name.
	RequestHeaders  []Header
	ResponseHeaders []Header

	RewriteTarget         string
	AppRoot               string
	PermanentRedirect     string
	PermanentRedirectCode int
	TemporalRedirect      string

	// AuthType is "" or AuthBasic; AuthSecret a Secret of the Ingress's
	// namespace; AuthRealm the realm of the 401 answers.
	AuthType   string
	AuthSecret string
	AuthRealm  string
	// ClientCAFile names, under the CA directory, the bundle that verifies
	// client certificates (auth-tls-secret); ClientCertVerify is
	// ClientCertOn, ClientCertOptional or ClientCertOff.
	ClientCAFile     string
	ClientCertVerify string
}

// Values of auth-tls-verify-client.
const (
	ClientCertOn       = "on"
	ClientCertOptional = "optional"
	ClientCertOff      = "off"
)

// ClientCert is what the policy asks of client certificates: ClientCertOn,
// ClientCertOptional, or "" when it asks nothing.
func (p *RoutePolicy) ClientCert() string {
	if p == nil || p.ClientCAFile == "" || p.ClientCertVerify == ClientCertOff {
		return ""
	}
	return p.ClientCertVerify
}

// Header is one header to set.
type Header struct {
	// Name is lower case: HTTP/2 and HAProxy's HTX compare names that way.
	Name  string
	Value string
}

// MaxRewriteDepth is the most segments a Prefix path with rewrite-target
// may have: HAProxy 2.6 needs a rule per depth (templates/haproxy.cfg).
const MaxRewriteDepth = 16

// Default values of the policy options.
const (
	DefaultCORSAllowMethods      = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	DefaultCORSAllowHeaders      = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	DefaultCORSMaxAge            = 1728000
	DefaultHSTSMaxAge            = 31536000
	DefaultPermanentRedirectCode = 301
)

// defaultRoutePolicy holds the defaults that apply once a feature is on.
func defaultRoutePolicy() RoutePolicy {
	return RoutePolicy{
		CORSAllowOrigins:      []string{"*"},
		CORSAllowMethods:      DefaultCORSAllowMethods,
		CORSAllowHeaders:      DefaultCORSAllowHeaders,
		CORSMaxAge:            DefaultCORSMaxAge,
		HSTSMaxAge:            DefaultHSTSMaxAge,
		HSTSIncludeSubdomains: true,
		PermanentRedirectCode: DefaultPermanentRedirectCode,
		ClientCertVerify:      ClientCertOn,
		AuthRealm:             DefaultAuthRealm,
	}
}

// Active reports whether the policy asks anything of a request: an
// Ingress whose policy is not active costs its requests nothing.
func (p *RoutePolicy) Active() bool {
	// Auth has no feature letter: its rules are chosen by their own map.
	return p != nil && (features(p) != "" || p.AuthType != "")
}

// Equal reports whether two policies are the same.
func (p *RoutePolicy) Equal(q *RoutePolicy) bool {
	return slices.Equal(p.AllowList, q.AllowList) && slices.Equal(p.DenyList, q.DenyList) &&
		p.LimitRPS == q.LimitRPS && p.LimitConnections == q.LimitConnections &&
		p.CORS == q.CORS && slices.Equal(p.CORSAllowOrigins, q.CORSAllowOrigins) &&
		p.CORSAllowMethods == q.CORSAllowMethods && p.CORSAllowHeaders == q.CORSAllowHeaders &&
		p.CORSAllowCredentials == q.CORSAllowCredentials && p.CORSMaxAge == q.CORSMaxAge &&
		p.HSTS == q.HSTS && p.HSTSMaxAge == q.HSTSMaxAge && p.HSTSIncludeSubdomains == q.HSTSIncludeSubdomains &&
		p.HSTSPreload == q.HSTSPreload &&
		slices.Equal(p.RequestHeaders, q.RequestHeaders) && slices.Equal(p.ResponseHeaders, q.ResponseHeaders) &&
		p.RewriteTarget == q.RewriteTarget && p.AppRoot == q.AppRoot &&
		p.PermanentRedirect == q.PermanentRedirect && p.PermanentRedirectCode == q.PermanentRedirectCode &&
		p.TemporalRedirect == q.TemporalRedirect &&
		p.ClientCAFile == q.ClientCAFile && p.ClientCertVerify == q.ClientCertVerify &&
		p.AuthType == q.AuthType && p.AuthSecret == q.AuthSecret && p.AuthRealm == q.AuthRealm
}

// checkPolicy looks at the policy options together. Errors are
// contradictions, which leave the Ingress out; warnings are options that
// have no effect.
func checkPolicy(p *RoutePolicy, set map[string]bool) (errs, warnings []fieldError) {
	at := func(list *[]fieldError, name, reason string) {
		*list = append(*list, fieldError{field: annotationField(AnnotationPrefix + name), reason: reason})
	}
	if p.PermanentRedirect != "" && p.TemporalRedirect != "" {
		at(&errs, "temporal-redirect", "permanent-redirect is set too; an Ingress redirects one way")
	}
	if p.CORS && p.CORSAllowCredentials && slices.Contains(p.CORSAllowOrigins, "*") {
		at(&errs, "cors-allow-credentials", "browsers refuse credentials with the origin \"*\"; list the origins in cors-allow-origin")
	}
	if p.AppRoot != "" && (p.PermanentRedirect != "" || p.TemporalRedirect != "") {
		at(&warnings, "app-root", "has no effect: the Ingress redirects every request (permanent-redirect or temporal-redirect)")
	}
	if set["permanent-redirect-code"] && p.PermanentRedirect == "" {
		at(&warnings, "permanent-redirect-code", "has no effect: permanent-redirect is not set")
	}
	if p.AuthType != "" && p.AuthSecret == "" {
		at(&errs, "auth-type", "auth-secret is not set: basic authentication needs the Secret of its users")
	}
	for _, name := range []string{"auth-secret", "auth-realm"} {
		if set[name] && p.AuthType == "" {
			at(&warnings, name, "has no effect: auth-type is not set")
		}
	}
	for _, name := range []string{"cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-allow-credentials", "cors-max-age"} {
		if set[name] && !p.CORS {
			at(&warnings, name, "has no effect: cors-enable is not true")
		}
	}
	if set["auth-tls-verify-client"] && p.ClientCAFile == "" {
		at(&warnings, "auth-tls-verify-client", "has no effect: auth-tls-secret is not set")
	}
	for _, name := range []string{"hsts-max-age", "hsts-include-subdomains", "hsts-preload"} {
		if set[name] && !p.HSTS {
			at(&warnings, name, "has no effect: hsts is not true")
		}
	}
	return errs, warnings
}
