package model

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// PolicyMaps are the map entries of the route policies. A request finds its
// Ingress's policy key (its "namespace/name") in PolicyExact, PolicyPrefix
// or PolicyHost, keyed like the routing maps; every other map is keyed by
// the policy key (or the policy key, "|" and a second part). Values a user
// wrote are URL-encoded (PolicyValue) and decoded by HAProxy per request,
// so none can split a map line or be evaluated.
type PolicyMaps struct {
	// PolicyExact, PolicyPrefix and PolicyHost hold every route of a backend
	// that has a policy on any of its routes: the value is the policy key,
	// or NoPolicy for a route without one. The routes without a policy are
	// there so that a longest-prefix lookup stops at the route that matched.
	PolicyExact  []MapEntry
	PolicyPrefix []MapEntry
	PolicyHost   []MapEntry

	// Access is "allow" for a policy with an allow-list, else "deny".
	Access []MapEntry
	// CIDRs maps every CIDR of every list to itself: map_ip finds the most
	// specific one that holds the client. CIDRMembers maps "key|CIDR" to
	// "deny" when the CIDR is inside the policy's deny-list, else "allow"
	// when it is inside its allow-list.
	CIDRs       []MapEntry
	CIDRMembers []MapEntry

	LimitRPS         []MapEntry
	LimitConnections []MapEntry

	// CORS is "*" or "list"; CORSOrigins holds "key|origin" for a list.
	CORS            []MapEntry
	CORSOrigins     []MapEntry
	CORSMethods     []MapEntry
	CORSHeaders     []MapEntry
	CORSMaxAge      []MapEntry
	CORSCredentials []MapEntry
	HSTS            []MapEntry
	RequestHeaders  []MapEntry // "key|name"
	ResponseHeaders []MapEntry // "key|name"
	// RewriteExact and RewritePrefix map "key|" and the route's routing map
	// key to "E|target" (the whole path is replaced) or "D|target" (the D
	// segments of the Prefix path are).
	RewriteExact  []MapEntry
	RewritePrefix []MapEntry
	AppRoot       []MapEntry
	// Redirects maps a policy key to "CODE|URL".
	Redirects []MapEntry
	// ClientCert maps a policy key to ClientCertOn or ClientCertOptional.
	ClientCert []MapEntry
	// Features maps a policy key to the letters of its features
	// (PolicyFeature*): HAProxy looks up a feature's maps only when its
	// letter is there, so a policy pays for what it sets.
	Features []MapEntry
	// Auth maps a policy key to the AuthRuleKey of its userlist and realm.
	Auth []MapEntry
}

// The letters of PolicyMaps.Features.
const (
	PolicyFeatureAccess          = "a"
	PolicyFeatureLimits          = "l"
	PolicyFeatureRedirect        = "r"
	PolicyFeatureAppRoot         = "p"
	PolicyFeatureCORS            = "c"
	PolicyFeatureRewrite         = "w"
	PolicyFeatureHSTS            = "h"
	PolicyFeatureRequestHeaders  = "q"
	PolicyFeatureResponseHeaders = "s"
	PolicyFeatureClientCert      = "t"
)

// Lists returns every map of m. The order is the order in which added
// entries reach HAProxy (removed ones go in reverse): a policy's values
// before the routes that name its key, a CIDR's members before the CIDR.
func (m *PolicyMaps) Lists() []*[]MapEntry {
	return []*[]MapEntry{&m.CIDRMembers, &m.CIDRs, &m.Access,
		&m.LimitRPS, &m.LimitConnections, &m.CORS, &m.CORSOrigins, &m.CORSMethods, &m.CORSHeaders, &m.CORSMaxAge,
		&m.CORSCredentials, &m.HSTS, &m.RequestHeaders, &m.ResponseHeaders, &m.RewriteExact, &m.RewritePrefix,
		&m.AppRoot, &m.Redirects, &m.ClientCert, &m.Auth, &m.Features, &m.PolicyExact, &m.PolicyPrefix, &m.PolicyHost}
}

// NoPolicy is the policy key of a route without a policy.
const NoPolicy = "_"

// CatchAllKey is the PolicyHost key of the catch-all default backend (an
// Ingress's spec.defaultBackend without hosts). No host key is "*":
// HAProxy looks it up when a request matched no route, which is how a
// request reaches a policy backend through default_backend.
const CatchAllKey = "*"

// PolicyValue encodes a value for a map: every byte but the unreserved
// characters of RFC 3986 is %XX, which HAProxy's url_dec turns back.
func PolicyValue(s string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
	return sb.String()
}

// policyRoute records the policy of one route.
type policyRoute struct {
	key     string // the routing map key
	policy  string
	backend string
	// hostDefault routes have no path; depth is the number of segments of
	// a Prefix path.
	hostDefault bool
	depth       int
	exact       bool
}

// addPolicyMaps fills the policy maps from the served routes.
func (b *builder) addPolicyMaps() {
	if len(b.policies) == 0 {
		return // the common case: no route has a policy
	}
	m := &b.config.Maps.Policy
	withPolicy := map[string]bool{} // backends
	var routes []policyRoute
	for rk, owner := range b.routes {
		key := rk.mapKey()
		routes = append(routes, policyRoute{key: key, policy: owner.policy, backend: owner.backend, depth: strings.Count(rk.path, "/"), exact: rk.exact})
	}
	for key, backend := range b.hostDefaults {
		routes = append(routes, policyRoute{key: key, policy: b.hostDefaultPolicy[key], backend: backend, hostDefault: true})
	}
	if b.defaultPolicy != "" && b.config.DefaultBackend != "" {
		routes = append(routes, policyRoute{key: CatchAllKey, policy: b.defaultPolicy, backend: b.config.DefaultBackend, hostDefault: true})
	}
	// The names of the rules each backend needs: headers, userlist|realm.
	requestHeaders, responseHeaders, authRules := map[string]map[string]bool{}, map[string]map[string]bool{}, map[string]map[string]bool{}
	addName := func(to map[string]map[string]bool, backend, name string) {
		if to[backend] == nil {
			to[backend] = map[string]bool{}
		}
		to[backend][name] = true
	}
	for _, r := range routes {
		p := b.policies[r.policy]
		if p == nil {
			continue
		}
		withPolicy[r.backend] = true
		for _, h := range p.RequestHeaders {
			addName(requestHeaders, r.backend, h.Name)
		}
		for _, h := range p.ResponseHeaders {
			addName(responseHeaders, r.backend, h.Name)
		}
		if p.AuthType != "" {
			addName(authRules, r.backend, authUserlistOf(r.policy, p)+"|"+p.AuthRealm)
		}
	}
	for _, r := range routes {
		if !withPolicy[r.backend] {
			continue
		}
		value := r.policy
		if value == "" {
			value = NoPolicy
		}
		entry := MapEntry{Key: r.key, Value: value}
		switch {
		case r.hostDefault:
			m.PolicyHost = append(m.PolicyHost, entry)
		case r.exact:
			m.PolicyExact = append(m.PolicyExact, entry)
		default:
			m.PolicyPrefix = append(m.PolicyPrefix, entry)
		}
		if r.policy == "" || r.hostDefault {
			continue
		}
		if target := b.policies[r.policy].RewriteTarget; target != "" {
			depth := "E"
			if !r.exact {
				depth = strconv.Itoa(r.depth)
			}
			rewrite := MapEntry{Key: r.policy + "|" + r.key, Value: depth + "|" + PolicyValue(target)}
			if r.exact {
				m.RewriteExact = append(m.RewriteExact, rewrite)
			} else {
				m.RewritePrefix = append(m.RewritePrefix, rewrite)
			}
		}
	}
	for i := range b.config.Backends {
		o := &b.config.Backends[i].Options
		name := b.config.Backends[i].Name
		o.Policies = withPolicy[name]
		o.RequestHeaders = joinSorted(requestHeaders[name])
		o.ResponseHeaders = joinSorted(responseHeaders[name])
		o.AuthRules = joinSortedBy(authRules[name], "\n")
	}
	var cidrs []netip.Prefix
	for _, p := range b.policies {
		cidrs = append(append(cidrs, p.AllowList...), p.DenyList...)
	}
	slices.SortFunc(cidrs, comparePrefix)
	cidrs = slices.Compact(cidrs)
	for _, c := range cidrs {
		m.CIDRs = append(m.CIDRs, MapEntry{Key: c.String(), Value: c.String()})
	}
	for id, p := range b.policies {
		b.addPolicyEntries(id, p, cidrs)
	}
}

func (b *builder) addPolicyEntries(id string, p *RoutePolicy, cidrs []netip.Prefix) {
	m := &b.config.Maps.Policy
	add := func(list *[]MapEntry, key, value string) { *list = append(*list, MapEntry{Key: key, Value: value}) }
	if len(p.AllowList) > 0 || len(p.DenyList) > 0 {
		access := "deny"
		if len(p.AllowList) > 0 {
			access = "allow"
		}
		add(&m.Access, id, access)
		members := map[netip.Prefix]string{}
		for _, c := range p.AllowList {
			for _, k := range inside(cidrs, c) {
				members[k] = "allow"
			}
		}
		for _, c := range p.DenyList {
			for _, k := range inside(cidrs, c) {
				members[k] = "deny"
			}
		}
		for k, v := range members {
			add(&m.CIDRMembers, id+"|"+k.String(), v)
		}
	}
	if p.LimitRPS > 0 {
		add(&m.LimitRPS, id, strconv.Itoa(p.LimitRPS))
	}
	if p.LimitConnections > 0 {
		add(&m.LimitConnections, id, strconv.Itoa(p.LimitConnections))
	}
	if p.CORS {
		mode := "list"
		if len(p.CORSAllowOrigins) == 1 && p.CORSAllowOrigins[0] == "*" {
			mode = "*"
		} else {
			for _, o := range p.CORSAllowOrigins {
				add(&m.CORSOrigins, id+"|"+o, "1")
			}
		}
		add(&m.CORS, id, mode)
		add(&m.CORSMethods, id, PolicyValue(p.CORSAllowMethods))
		add(&m.CORSHeaders, id, PolicyValue(p.CORSAllowHeaders))
		add(&m.CORSMaxAge, id, strconv.Itoa(p.CORSMaxAge))
		if p.CORSAllowCredentials {
			add(&m.CORSCredentials, id, "true")
		}
	}
	if p.HSTS {
		value := "max-age=" + strconv.Itoa(p.HSTSMaxAge)
		if p.HSTSIncludeSubdomains {
			value += "; includeSubDomains"
		}
		if p.HSTSPreload {
			value += "; preload"
		}
		add(&m.HSTS, id, PolicyValue(value))
	}
	for _, h := range p.RequestHeaders {
		add(&m.RequestHeaders, id+"|"+h.Name, PolicyValue(h.Value))
	}
	for _, h := range p.ResponseHeaders {
		add(&m.ResponseHeaders, id+"|"+h.Name, PolicyValue(h.Value))
	}
	if p.AppRoot != "" {
		add(&m.AppRoot, id, PolicyValue(p.AppRoot))
	}
	if mode := p.ClientCert(); mode != "" {
		add(&m.ClientCert, id, mode)
	}
	if f := features(p); f != "" {
		add(&m.Features, id, f)
	}
	if p.AuthType != "" {
		add(&m.Auth, id, AuthRuleKey(authUserlistOf(id, p), p.AuthRealm))
	}
	switch {
	case p.TemporalRedirect != "":
		add(&m.Redirects, id, "302|"+PolicyValue(p.TemporalRedirect))
	case p.PermanentRedirect != "":
		add(&m.Redirects, id, strconv.Itoa(p.PermanentRedirectCode)+"|"+PolicyValue(p.PermanentRedirect))
	}
}

// features returns the letters of the features p sets.
func features(p *RoutePolicy) string {
	var sb strings.Builder
	for _, f := range []struct {
		on     bool
		letter string
	}{
		{len(p.AllowList) > 0 || len(p.DenyList) > 0, PolicyFeatureAccess},
		{p.LimitRPS > 0 || p.LimitConnections > 0, PolicyFeatureLimits},
		{p.PermanentRedirect != "" || p.TemporalRedirect != "", PolicyFeatureRedirect},
		{p.AppRoot != "", PolicyFeatureAppRoot},
		{p.CORS, PolicyFeatureCORS},
		{p.RewriteTarget != "", PolicyFeatureRewrite},
		{p.HSTS, PolicyFeatureHSTS},
		{len(p.RequestHeaders) > 0, PolicyFeatureRequestHeaders},
		{len(p.ResponseHeaders) > 0, PolicyFeatureResponseHeaders},
		{p.ClientCert() != "", PolicyFeatureClientCert},
	} {
		if f.on {
			sb.WriteString(f.letter)
		}
	}
	return sb.String()
}

// inside returns the CIDRs of sorted (sorted by comparePrefix) that lie
// inside c: they follow c's address in that order, one after the other.
func inside(sorted []netip.Prefix, c netip.Prefix) []netip.Prefix {
	i, _ := slices.BinarySearchFunc(sorted, c, comparePrefix)
	var out []netip.Prefix
	for ; i < len(sorted) && c.Contains(sorted[i].Addr()); i++ {
		if sorted[i].Bits() >= c.Bits() {
			out = append(out, sorted[i])
		}
	}
	return out
}

// authUserlistOf is the userlist of a policy's auth Secret, which is in
// the namespace of the policy key's Ingress.
func authUserlistOf(policyKey string, p *RoutePolicy) string {
	namespace, _, _ := strings.Cut(policyKey, "/")
	return AuthUserlistName(namespace, p.AuthSecret)
}

func joinSorted(set map[string]bool) string { return joinSortedBy(set, ",") }

func joinSortedBy(set map[string]bool, sep string) string {
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, sep)
}
