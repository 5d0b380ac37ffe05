package model

import (
	"strings"
	"time"
)

// Scope says what an option applies to.
type Scope string

const (
	// ScopeGlobal options are read from the global ConfigMap only.
	ScopeGlobal Scope = "global"
	// ScopeRoute options apply to the hosts and paths of the Ingress that
	// carries them.
	ScopeRoute Scope = "route"
	// ScopeBackend options apply to a Service port's backend: set on the
	// Service they apply to every Ingress that routes to it; set on an
	// Ingress they apply to the backends its rules route to.
	ScopeBackend Scope = "backend"
)

// Change says how a changed value reaches an HAProxy that is serving.
type Change string

const (
	// ChangeRuntime values live in a map that HAProxy reads per request;
	// a change is a `set map`/`add map`/`del map`, never a reload.
	ChangeRuntime Change = "runtime (map)"
	// ChangeReload values are directives of haproxy.cfg: a change is
	// checked with haproxy -c and loaded by a reload.
	ChangeReload Change = "reload"
)

// Option is one typed setting. The table of options (OptionTable) is the one
// source of the annotation keys, the ConfigMap keys, their parsing and
// docs/annotations.md.
type Option struct {
	// Name is the ConfigMap key; the annotation is AnnotationPrefix+Name.
	Name  string
	Scope Scope
	// Type says what a value looks like, for the docs.
	Type string
	// Default is the built-in default, for the docs.
	Default string
	// ConfigMap is set when the global ConfigMap key Name sets the default.
	ConfigMap bool
	Change    Change
	// HAProxy says what the value becomes, for the docs.
	HAProxy string
	Effect  string

	// parse turns a value into its typed form, or explains why it cannot.
	parse func(string) (any, error)
	// global stores a ConfigMap value in the global options (the defaults
	// section); nil when the ConfigMap value is a backend default instead.
	global func(*Global, any)
	// route and backend store an annotation value; nil when the option
	// cannot be an annotation.
	route   func(*RouteSettings, any)
	backend func(*BackendSettings, any)
}

// Annotation is the annotation key of o, or "" for a ConfigMap-only option.
func (o *Option) Annotation() string {
	if o.route == nil && o.backend == nil {
		return ""
	}
	return AnnotationPrefix + o.Name
}

// RouteSettings are the route options of one Ingress.
type RouteSettings struct {
	SSLRedirect bool
	// Policy is nil until a policy option is read: most Ingresses have
	// none, and a RoutePolicy with its defaults costs 10k allocations and
	// 4 MB at 10k Ingresses.
	Policy *RoutePolicy
}

// policy returns r's policy, with the defaults when none was read yet.
func (r *RouteSettings) policy() *RoutePolicy {
	if r.Policy == nil {
		p := defaultRoutePolicy()
		r.Policy = &p
	}
	return r.Policy
}

// BackendProtocol is how HAProxy talks to a backend's endpoints.
type BackendProtocol string

const (
	ProtocolHTTP  BackendProtocol = "HTTP"
	ProtocolHTTPS BackendProtocol = "HTTPS"
	ProtocolH2C   BackendProtocol = "H2C"
	ProtocolH2    BackendProtocol = "H2"
)

// TLS reports whether the protocol runs over TLS.
func (p BackendProtocol) TLS() bool { return p == ProtocolHTTPS || p == ProtocolH2 }

// SNIFromRequest is the backend-sni value that sends the request's host.
const SNIFromRequest = "host"

// BackendSettings are the backend options as they apply to one backend.
// Zero values mean "not set": the global option or HAProxy's default.
type BackendSettings struct {
	TimeoutServer       time.Duration
	TimeoutConnect      time.Duration
	TimeoutTunnel       time.Duration
	Protocol            BackendProtocol
	CASecret            string // a Secret in the backend's namespace
	SNI                 string // a host name, or SNIFromRequest
	Balance             string
	HealthCheckPath     string
	HealthCheckInterval time.Duration
	Affinity            string // "cookie" or "none"
	AffinityCookie      string
	BodySize            int64 // bytes; 0 is unlimited
	bodySizeSet         bool
}

// OptionTable returns the table of options, in the order of the docs.
func OptionTable() []Option {
	return append([]Option{
		{
			Name: "ssl-redirect", Scope: ScopeRoute, Type: "bool", Default: "true", ConfigMap: true, Change: ChangeRuntime,
			HAProxy: "`maps/redirects.map`", Effect: "plain-HTTP requests to the Ingress's TLS hosts get a 308 redirect to HTTPS",
			parse:  parseBool,
			global: func(g *Global, v any) { g.SSLRedirect = v.(bool) },
			route:  func(r *RouteSettings, v any) { r.SSLRedirect = v.(bool) },
		},
		{
			Name: "timeout-server", Scope: ScopeBackend, Type: durationType, Default: "60s", ConfigMap: true, Change: ChangeRuntime,
			HAProxy: "`http-request set-timeout server` from `maps/timeout-server.map`; the ConfigMap key sets the defaults section's `timeout server`",
			Effect:  "how long HAProxy waits for the backend's answer (504 after it)",
			parse:   parseDuration,
			global:  func(g *Global, v any) { g.Timeouts.Server = v.(time.Duration) },
			backend: func(s *BackendSettings, v any) { s.TimeoutServer = v.(time.Duration) },
		},
		{
			Name: "timeout-connect", Scope: ScopeBackend, Type: durationType, Default: "5s", ConfigMap: true, Change: ChangeReload,
			HAProxy: "backend `timeout connect`", Effect: "how long HAProxy waits for a connection to an endpoint",
			parse:   parseDuration,
			global:  func(g *Global, v any) { g.Timeouts.Connect = v.(time.Duration) },
			backend: func(s *BackendSettings, v any) { s.TimeoutConnect = v.(time.Duration) },
		},
		{
			Name: "timeout-tunnel", Scope: ScopeBackend, Type: durationType, Default: "1h", ConfigMap: true, Change: ChangeRuntime,
			HAProxy: "`http-request set-timeout tunnel` from `maps/timeout-tunnel.map`; the ConfigMap key sets the defaults section's `timeout tunnel`",
			Effect:  "idle timeout of WebSocket and other upgraded connections",
			parse:   parseDuration,
			global:  func(g *Global, v any) { g.Timeouts.Tunnel = v.(time.Duration) },
			backend: func(s *BackendSettings, v any) { s.TimeoutTunnel = v.(time.Duration) },
		},
		{
			Name: "backend-protocol", Scope: ScopeBackend, Type: "`HTTP`, `HTTPS`, `H2C`, `H2`, `GRPC` (= `H2C`) or `GRPCS` (= `H2`)", Default: "`HTTP`", ConfigMap: true, Change: ChangeReload,
			HAProxy: "server keywords `ssl`, `alpn h2`, `proto h2`", Effect: "how HAProxy talks to the endpoints; `HTTPS` and `H2` verify the endpoint's certificate only with `backend-ca-secret`",
			parse:   parseProtocol,
			backend: func(s *BackendSettings, v any) { s.Protocol = v.(BackendProtocol) },
		},
		{
			Name: "backend-ca-secret", Scope: ScopeBackend, Type: "Secret name (the backend's namespace) with `ca.crt`", Default: "none", Change: ChangeReload,
			HAProxy: "`ssl verify required ca-file` on the servers", Effect: "endpoints must present a certificate signed by one of these CAs (and naming the `backend-sni` host when that is set)",
			parse:   parseSecretName,
			backend: func(s *BackendSettings, v any) { s.CASecret = v.(string) },
		},
		{
			Name: "backend-sni", Scope: ScopeBackend, Type: "host name, or `host` (the request's host)", Default: "none", ConfigMap: true, Change: ChangeReload,
			HAProxy: "server keyword `sni`", Effect: "the TLS server name HAProxy sends to the endpoints",
			parse:   parseSNI,
			backend: func(s *BackendSettings, v any) { s.SNI = v.(string) },
		},
		{
			Name: "load-balance", Scope: ScopeBackend, Type: "`roundrobin`, `leastconn`, `random`, `source` or `uri`", Default: "`roundrobin`", ConfigMap: true, Change: ChangeReload,
			HAProxy: "backend `balance`", Effect: "how requests are spread over the endpoints",
			parse:   parseEnum("roundrobin", "leastconn", "random", "source", "uri"),
			backend: func(s *BackendSettings, v any) { s.Balance = v.(string) },
		},
		{
			Name: "health-check-path", Scope: ScopeBackend, Type: "absolute path", Default: "none (no active checks)", ConfigMap: true, Change: ChangeReload,
			HAProxy: "`option httpchk`, `http-check send meth GET uri PATH`, `check` on the servers", Effect: "an endpoint that fails the check (no 2xx or 3xx answer) gets no requests until it passes again (HAProxy's fall 3, rise 2)",
			parse:   parseCheckPath,
			backend: func(s *BackendSettings, v any) { s.HealthCheckPath = v.(string) },
		},
		{
			Name: "health-check-interval", Scope: ScopeBackend, Type: durationType, Default: "2s (when checks are on)", ConfigMap: true, Change: ChangeReload,
			HAProxy: "server keyword `inter`; without `health-check-path` the check is a TCP connect", Effect: "time between two checks of an endpoint",
			parse:   parseDuration,
			backend: func(s *BackendSettings, v any) { s.HealthCheckInterval = v.(time.Duration) },
		},
		{
			Name: "affinity", Scope: ScopeBackend, Type: "`cookie` or `none`", Default: "`none`", ConfigMap: true, Change: ChangeReload,
			HAProxy: "`cookie NAME insert indirect nocache dynamic` and `dynamic-cookie-key`", Effect: "a client that returns the cookie keeps reaching the same endpoint while it serves; the cookie follows the endpoint's address, so it survives scaling",
			parse:   parseEnum("cookie", "none"),
			backend: func(s *BackendSettings, v any) { s.Affinity = v.(string) },
		},
		{
			Name: "affinity-cookie-name", Scope: ScopeBackend, Type: "cookie name (1 to 64 letters, digits and ``!$%&*+-.^_`|~``)", Default: "`" + DefaultAffinityCookie + "`", ConfigMap: true, Change: ChangeReload,
			HAProxy: "the `cookie` name", Effect: "the name of the affinity cookie",
			parse:   parseCookieName,
			backend: func(s *BackendSettings, v any) { s.AffinityCookie = v.(string) },
		},
		{
			Name: "proxy-body-size", Scope: ScopeBackend, Type: "size: bytes, or with `k`, `m` or `g` (`8m`); `0` is unlimited", Default: "`0`", ConfigMap: true, Change: ChangeRuntime,
			HAProxy: "`maps/body-size.map`, read per request", Effect: "413 for a larger request body, announced by Content-Length or sent chunked",
			parse:   parseSize,
			backend: func(s *BackendSettings, v any) { s.BodySize, s.bodySizeSet = v.(int64), true },
		},
		globalTimeout("timeout-client", "60s", "the client's inactivity timeout", func(t *Timeouts) *time.Duration { return &t.Client }),
		globalTimeout("timeout-http-request", "10s", "how long a client may take to send a complete request head", func(t *Timeouts) *time.Duration { return &t.HTTPRequest }),
		globalTimeout("timeout-http-keep-alive", "60s", "how long an idle keep-alive connection is kept", func(t *Timeouts) *time.Duration { return &t.HTTPKeepAlive }),
	}, policyOptions()...)
}

// DefaultAffinityCookie is the affinity cookie's name when none is set.
const DefaultAffinityCookie = "bollard-affinity"

const durationType = "duration (1ms–24h, whole ms, such as `30s`)"

func globalTimeout(name, def, effect string, field func(*Timeouts) *time.Duration) Option {
	return Option{
		Name: name, Scope: ScopeGlobal, Type: durationType, Default: def, ConfigMap: true, Change: ChangeReload,
		HAProxy: "defaults `" + strings.Replace(name, "-", " ", 1) + "`", Effect: effect,
		parse:  parseDuration,
		global: func(g *Global, v any) { *field(&g.Timeouts) = v.(time.Duration) },
	}
}

// optionIndex finds the options of the table by name.
type optionIndex map[string]*Option
