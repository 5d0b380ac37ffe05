package model

import (
	"cmp"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The Gateway API processor (gateway*.go) turns GatewayClasses, Gateways,
// HTTPRoutes and ReferenceGrants into frontends of their own, beside the
// Ingress frontends, that route to the same backends: the runtime paths
// (endpoints, certificates) serve both APIs. HTTPRoute matches (headers,
// query parameters, methods, precedence across routes) do not fit the
// host and path maps, so each Gateway frontend holds ordered rules; a
// changed route is a reload, an endpoint change is not.

// DefaultGatewayControllerName is the GatewayClass controllerName Bollard
// answers to.
const DefaultGatewayControllerName = "bollard.io/gateway-controller"

// The Ingress frontends, which Gateway listeners on their ports share.
const (
	SharedHTTPFrontend  = "http"
	SharedHTTPSFrontend = "https"
)

// GatewayFrontend is one address and port that Gateway listeners share.
type GatewayFrontend struct {
	// Name is the HAProxy frontend name.
	Name string
	// Shared: the rules go into the Ingress frontend Name, before its
	// map-driven routing; the certificates onto its bind.
	Shared bool
	// Address is the address to bind; "" binds every address.
	Address string
	Port    int32
	TLS     bool
	// Certificates are the listeners' certificates, by file name, with
	// the SNI names each serves ("" first: the frontend's default).
	Certificates []GatewayCertificate
	// Listeners, in the order a request's host selects one: exact
	// hostnames, then wildcards, longer first, then a listener for any.
	Listeners []GatewayListener
	// Rules in precedence order: the first that matches routes.
	Rules []GatewayRule
}

// GatewayCertificate is a certificate file of a TLS frontend and the
// listener hostname it serves ("" for any).
type GatewayCertificate struct {
	FileName string
	SNI      string
}

// GatewayListener selects requests by host.
type GatewayListener struct {
	ID string
	// Hostname is exact, "*.suffix" or "" (any).
	Hostname string
}

// GatewayRule is one HTTPRoute match on one listener, hostname expanded.
type GatewayRule struct {
	ID       string
	Listener string
	// Hostname is exact, "*.suffix" or "" (any host of the listener).
	Hostname string
	// PathExact selects Exact matching of Path; else Path is a prefix
	// ("/" matches every path).
	PathExact bool
	Path      string
	Method    string
	Headers   []NameValue
	Query     []NameValue
	// Backends share the rule's requests by Weight; a Backend of ""
	// answers 500 (an invalid reference). No backends: 500 for every
	// request.
	Backends        []WeightedBackend
	RequestHeaders  HeaderEdits
	ResponseHeaders HeaderEdits
	Redirect        *GatewayRedirect
	Rewrite         *GatewayRewrite
	// Route is "namespace/name" of the HTTPRoute.
	Route string
}

// NameValue is a header or query parameter name and value.
type NameValue struct {
	Name  string
	Value string
}

// WeightedBackend is a backend and its share of a rule's requests, with
// the header edits of its own filters (for the requests it gets).
type WeightedBackend struct {
	Backend        string
	Weight         int32
	RequestHeaders HeaderEdits
}

// HeaderEdits are the header changes of a modifier filter.
type HeaderEdits struct {
	Set    []NameValue
	Add    []NameValue
	Remove []string
}

// Empty is true when the edits change nothing.
func (h HeaderEdits) Empty() bool {
	return len(h.Set) == 0 && len(h.Add) == 0 && len(h.Remove) == 0
}

// GatewayRedirect answers the request with a redirect.
type GatewayRedirect struct {
	Scheme   string // "" keeps the request's
	Hostname string // "" keeps the request's
	// Port is 0 to derive it: the scheme's well-known port when the
	// scheme changes, else the listener's.
	Port       int32
	StatusCode int
	Path       PathModifier
}

// GatewayRewrite changes the request before it is forwarded.
type GatewayRewrite struct {
	Hostname string
	Path     PathModifier
}

// PathModifier replaces the full path, or the prefix the rule matched.
type PathModifier struct {
	// Kind is "", "full" or "prefix".
	Kind  string
	Value string
	// Matched is the rule's prefix that "prefix" replaces.
	Matched string
}

// gatewayState is the Gateway API part of a build.
type gatewayState struct {
	frontends map[string]*GatewayFrontend
	// grants are the ReferenceGrants by namespace.
	grants map[string][]*gatewayv1.ReferenceGrant
	status GatewayStatus
	// certs are the listeners' certificates by file name.
	certs map[string]*Certificate
	// claims are the hostnames of each frontend's listeners, with the
	// Gateway ("ns/name") that holds each.
	claims map[string]map[string]string
}

// sortGatewayFrontends orders the frontends by name, for byte-identical
// output.
func sortGatewayFrontends(fs map[string]*GatewayFrontend) []GatewayFrontend {
	out := make([]GatewayFrontend, 0, len(fs))
	for _, f := range fs {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b GatewayFrontend) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
