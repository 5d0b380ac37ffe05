package model

import (
	"fmt"
	"net/netip"
)

// ChangeRuntimeNewHeader is the change of the header options: the values
// are map entries, but each header name is a rule of haproxy.cfg.
const ChangeRuntimeNewHeader Change = "runtime (map); a header name that no Ingress set before: one reload"

// ChangeClientCA is the change of auth-tls-secret: the CA file and the
// crt-list lines that name it are loaded by a reload.
const ChangeClientCA Change = "reload (the CA file and the crt-list lines of the hosts); the CA Secret's content too"

// ChangeClientVerify is the change of auth-tls-verify-client: "off" adds
// or removes the crt-list lines' request for a certificate.
const ChangeClientVerify Change = "runtime (map) between `on` and `optional`; to or from `off`: one reload"

// ChangeRuntimeAuth is the change of the auth options: moving an Ingress
// between the userlists and realms its backends already check is a map
// entry; a new userlist, a new realm or a changed Secret is a reload.
const ChangeRuntimeAuth Change = "runtime (map) between userlists a backend already checks; a new userlist, realm or changed Secret: one reload"

// policyOptions are the route policies (RoutePolicy). Their values reach
// HAProxy through maps keyed by the Ingress (render.PolicyMaps).
func policyOptions() []Option {
	policy := func(set func(*RoutePolicy, any)) func(*RouteSettings, any) {
		return func(r *RouteSettings, v any) { set(r.policy(), v) }
	}
	boolOpt := func(name, def, effect string, set func(*RoutePolicy, bool)) Option {
		return Option{Name: name, Scope: ScopeRoute, Type: "bool", Default: def, Change: ChangeRuntime,
			HAProxy: "`maps/policy-*.map`", Effect: effect, parse: parseBool,
			route: policy(func(p *RoutePolicy, v any) { set(p, v.(bool)) })}
	}
	return []Option{
		{
			Name: "allow-list", Scope: ScopeRoute, Type: "comma-separated IPv4/IPv6 addresses and CIDRs (at most 256)", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-access.map`, `maps/policy-cidrs.map` (`map_ip`) and `maps/policy-cidr-members.map`", Effect: "403 for client addresses outside the list",
			parse: parseCIDRList,
			route: policy(func(p *RoutePolicy, v any) { p.AllowList = v.([]netip.Prefix) }),
		},
		{
			Name: "deny-list", Scope: ScopeRoute, Type: "comma-separated IPv4/IPv6 addresses and CIDRs (at most 256)", Default: "none", Change: ChangeRuntime,
			HAProxy: "the maps of `allow-list`", Effect: "403 for client addresses in the list (it wins over `allow-list`)",
			parse: parseCIDRList,
			route: policy(func(p *RoutePolicy, v any) { p.DenyList = v.([]netip.Prefix) }),
		},
		{
			Name: "limit-rps", Scope: ScopeRoute, Type: "whole number (1 to 1000000)", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-limit-rps.map`; the stick table of `backend _policy_limits`", Effect: "429 once a client address sent more requests to the Ingress in the last second",
			parse: parseLimit,
			route: policy(func(p *RoutePolicy, v any) { p.LimitRPS = v.(int) }),
		},
		{
			Name: "limit-connections", Scope: ScopeRoute, Type: "whole number (1 to 1000000)", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-limit-connections.map`; the stick table of `backend _policy_limits`", Effect: "429 for a request while a client address has this many requests to the Ingress in flight",
			parse: parseLimit,
			route: policy(func(p *RoutePolicy, v any) { p.LimitConnections = v.(int) }),
		},
		boolOpt("cors-enable", "false", "HAProxy answers CORS preflight requests (OPTIONS with Origin and Access-Control-Request-Method) with 204 and adds the CORS headers to responses for allowed origins",
			func(p *RoutePolicy, v bool) { p.CORS = v }),
		{
			Name: "cors-allow-origin", Scope: ScopeRoute, Type: "`*`, or comma-separated origins (`https://example.com`)", Default: "`*`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-cors.map`, `maps/policy-cors-origins.map`", Effect: "the origins allowed; a listed origin is echoed in Access-Control-Allow-Origin, others get no CORS headers",
			parse: parseOrigins,
			route: policy(func(p *RoutePolicy, v any) { p.CORSAllowOrigins = v.([]string) }),
		},
		{
			Name: "cors-allow-methods", Scope: ScopeRoute, Type: "comma-separated methods", Default: "`" + DefaultCORSAllowMethods + "`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-cors-methods.map`", Effect: "Access-Control-Allow-Methods of preflight answers",
			parse: parseTokenList,
			route: policy(func(p *RoutePolicy, v any) { p.CORSAllowMethods = v.(string) }),
		},
		{
			Name: "cors-allow-headers", Scope: ScopeRoute, Type: "comma-separated header names", Default: "`" + DefaultCORSAllowHeaders + "`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-cors-headers.map`", Effect: "Access-Control-Allow-Headers of preflight answers",
			parse: parseTokenList,
			route: policy(func(p *RoutePolicy, v any) { p.CORSAllowHeaders = v.(string) }),
		},
		boolOpt("cors-allow-credentials", "false", "Access-Control-Allow-Credentials: true (needs listed origins, not `*`)",
			func(p *RoutePolicy, v bool) { p.CORSAllowCredentials = v }),
		{
			Name: "cors-max-age", Scope: ScopeRoute, Type: "seconds", Default: "`1728000`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-cors-max-age.map`", Effect: "Access-Control-Max-Age of preflight answers",
			parse: parseMaxAge,
			route: policy(func(p *RoutePolicy, v any) { p.CORSMaxAge = v.(int) }),
		},
		boolOpt("hsts", "false", "Strict-Transport-Security on the Ingress's responses over HTTPS (never over plain HTTP)",
			func(p *RoutePolicy, v bool) { p.HSTS = v }),
		{
			Name: "hsts-max-age", Scope: ScopeRoute, Type: "seconds", Default: "`31536000`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-hsts.map`", Effect: "the header's max-age",
			parse: parseMaxAge,
			route: policy(func(p *RoutePolicy, v any) { p.HSTSMaxAge = v.(int) }),
		},
		boolOpt("hsts-include-subdomains", "true", "adds includeSubDomains", func(p *RoutePolicy, v bool) { p.HSTSIncludeSubdomains = v }),
		boolOpt("hsts-preload", "false", "adds preload", func(p *RoutePolicy, v bool) { p.HSTSPreload = v }),
		{
			Name: "request-set-headers", Scope: ScopeRoute, Type: "lines `Name: value` (at most 32; values up to 1024 bytes without control characters)", Default: "none", Change: ChangeRuntimeNewHeader,
			HAProxy: "`maps/policy-request-headers.map`, one `http-request set-header` rule per header name", Effect: "sets the headers on requests to the backend; Host, Content-Length, Transfer-Encoding, Connection, the other hop-by-hop headers, X-Forwarded-* and the `ssl-client-*` headers of `auth-tls-secret` are refused",
			parse: parseHeaderLines,
			route: policy(func(p *RoutePolicy, v any) { p.RequestHeaders = v.([]Header) }),
		},
		{
			Name: "response-set-headers", Scope: ScopeRoute, Type: "lines `Name: value`, as `request-set-headers`", Default: "none", Change: ChangeRuntimeNewHeader,
			HAProxy: "`maps/policy-response-headers.map`, one `http-response set-header` rule per header name", Effect: "sets the headers on the backend's responses",
			parse: parseHeaderLines,
			route: policy(func(p *RoutePolicy, v any) { p.ResponseHeaders = v.([]Header) }),
		},
		{
			Name: "rewrite-target", Scope: ScopeRoute, Type: "absolute path", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-rewrite-exact.map`, `maps/policy-rewrite-prefix.map`, `http-request set-path`", Effect: "the path the request matched is replaced by this one: with `/api` → `/`, `/api/x?q` reaches the backend as `/x?q`; an Exact path is replaced whole",
			parse: parseAbsolutePath(false),
			route: policy(func(p *RoutePolicy, v any) { p.RewriteTarget = v.(string) }),
		},
		{
			Name: "app-root", Scope: ScopeRoute, Type: "absolute path (a query allowed)", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-app-root.map`", Effect: "a request for `/` gets a 302 redirect to this path",
			parse: parseAbsolutePath(true),
			route: policy(func(p *RoutePolicy, v any) { p.AppRoot = v.(string) }),
		},
		{
			Name: "permanent-redirect", Scope: ScopeRoute, Type: "absolute `http://` or `https://` URL", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-redirects.map`", Effect: "every request gets a redirect to the URL (301 unless `permanent-redirect-code`)",
			parse: parseRedirectURL,
			route: policy(func(p *RoutePolicy, v any) { p.PermanentRedirect = v.(string) }),
		},
		{
			Name: "permanent-redirect-code", Scope: ScopeRoute, Type: "301, 302, 303, 307 or 308", Default: "`301`", Change: ChangeRuntime,
			HAProxy: "`maps/policy-redirects.map`", Effect: "the status of `permanent-redirect`",
			parse: parseRedirectCode,
			route: policy(func(p *RoutePolicy, v any) { p.PermanentRedirectCode = v.(int) }),
		},
		{
			Name: "temporal-redirect", Scope: ScopeRoute, Type: "absolute `http://` or `https://` URL", Default: "none", Change: ChangeRuntime,
			HAProxy: "`maps/policy-redirects.map`", Effect: "every request gets a 302 redirect to the URL",
			parse: parseRedirectURL,
			route: policy(func(p *RoutePolicy, v any) { p.TemporalRedirect = v.(string) }),
		},
		{
			Name: "auth-tls-secret", Scope: ScopeRoute, Type: "Secret name (the Ingress's namespace) of type kubernetes.io/tls with `ca.crt`", Default: "none", Change: ChangeClientCA,
			HAProxy: "`[verify optional ca-file cas/FILE]` on the crt-list lines of the Ingress's TLS hosts; `maps/policy-client-cert.map`", Effect: "HAProxy asks clients of the Ingress's TLS hosts for a certificate signed by one of these CAs; what happens without one is `auth-tls-verify-client`",
			parse: parseSecretName,
			route: policy(func(p *RoutePolicy, v any) { p.ClientCAFile = v.(string) }),
		},
		{
			Name: "auth-tls-verify-client", Scope: ScopeRoute, Type: "`on`, `optional` or `off`", Default: "`on`", Change: ChangeClientVerify,
			HAProxy: "`maps/policy-client-cert.map`", Effect: "`on`: a request without a verified client certificate (for the request's host) gets 403; `optional`: it passes, and the backend gets `ssl-client-verify` (`SUCCESS`, `FAILED` or `NONE`), `ssl-client-subject-dn`, `ssl-client-issuer-dn` and `ssl-client-cert`; `off`: no client certificate is asked for",
			parse: parseEnum(ClientCertOn, ClientCertOptional, ClientCertOff),
			route: policy(func(p *RoutePolicy, v any) { p.ClientCertVerify = v.(string) }),
		},
		{
			Name: "auth-type", Scope: ScopeRoute, Type: "`basic`", Default: "none", Change: ChangeRuntimeAuth,
			HAProxy: "`maps/policy-auth.map`; one `userlist` per Secret, one `http-request auth` rule per userlist and realm in the backends", Effect: "requests without valid credentials get 401 with `WWW-Authenticate: Basic realm=\"REALM\"`; the Authorization header is forwarded to the backend, as ingress-nginx does",
			parse: parseAuthType,
			route: policy(func(p *RoutePolicy, v any) { p.AuthType = v.(string) }),
		},
		{
			Name: "auth-secret", Scope: ScopeRoute, Type: "Secret name (the Ingress's namespace), type Opaque, key `auth`: htpasswd lines `user:hash`", Default: "none", Change: ChangeRuntimeAuth,
			HAProxy: "`userlist` section",
			Effect: fmt.Sprintf("the users; hashes SHA-512 or SHA-256 crypt (`$6$`, `$5$`; rounds %d–%d) or bcrypt (`$2a$`, `$2b$`, `$2y$`; cost %d–%d); MD5 (`$apr1$`, `$1$`), DES, `{SHA}` and plain text are refused. At most %d users per Secret; verification cost is limited per Secret and in total (docs/benchmarks.md)",
				MinSHACryptRounds, MaxSHACryptRounds, MinBcryptCost, MaxBcryptCost, MaxAuthUsersPerSecret),
			parse: parseSecretName,
			route: policy(func(p *RoutePolicy, v any) { p.AuthSecret = v.(string) }),
		},
		{
			Name: "auth-realm", Scope: ScopeRoute, Type: fmt.Sprintf("printable ASCII without `\"` `\\` `'` `#` `$` `%%` (1 to %d characters)", MaxAuthRealm), Default: "`" + DefaultAuthRealm + "`", Change: ChangeRuntimeAuth,
			HAProxy: "`realm` of the backend's `http-request auth` rule", Effect: "the realm the browser shows",
			parse: parseRealm,
			route: policy(func(p *RoutePolicy, v any) { p.AuthRealm = v.(string) }),
		},
	}
}
