package model

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// compiledRule is an HTTPRoute rule as validated: its matches, filters
// and backends, before it is placed on listeners.
type compiledRule struct {
	index   int
	matches []GatewayRule // listener, hostname and ID unset
}

// routeRefs is what resolving a route's backendRefs found.
type routeRefs struct {
	ok      bool
	reason  string
	message string
}

func (r *routeRefs) fail(reason, message string) {
	if r.ok {
		r.ok, r.reason, r.message = false, reason, message
	}
}

// compileRoute validates every rule of an HTTPRoute. A rule that Bollard
// cannot serve is dropped (dropped names them); the others are kept.
func (b *builder) compileRoute(rt *gatewayv1.HTTPRoute) (rules []compiledRule, dropped []string, refs routeRefs) {
	refs = routeRefs{ok: true, reason: string(gatewayv1.RouteReasonResolvedRefs), message: "references resolved"}
	key := rt.Namespace + "/" + rt.Name
	for i, r := range rt.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		base, err := b.compileActions(rt, r, field, &refs)
		if err == nil {
			err = unsupportedRuleFields(r)
		}
		if err != nil {
			dropped = append(dropped, fmt.Sprintf("%s: %v", field, err))
			b.warn("HTTPRoute", rt.Namespace, rt.Name, field, err.Error()+"; the rule is left out")
			continue
		}
		base.Route = key
		matches := r.Matches
		if len(matches) == 0 {
			matches = []gatewayv1.HTTPRouteMatch{{}}
		}
		cr := compiledRule{index: i}
		for j, m := range matches {
			gr := base
			err := compileMatch(&gr, m)
			if err == nil {
				err = bindPrefixModifiers(&gr)
			}
			if err != nil {
				dropped = append(dropped, fmt.Sprintf("%s.matches[%d]: %v", field, j, err))
				b.warn("HTTPRoute", rt.Namespace, rt.Name, fmt.Sprintf("%s.matches[%d]", field, j), err.Error()+"; the rule is left out")
				cr.matches = nil
				break
			}
			cr.matches = append(cr.matches, gr)
		}
		if cr.matches != nil {
			rules = append(rules, cr)
		}
	}
	return rules, dropped, refs
}

// bindPrefixModifiers gives a rule's ReplacePrefixMatch modifiers the
// prefix the match holds; the rule's filters are shared by its matches,
// so they are copied first.
func bindPrefixModifiers(gr *GatewayRule) error {
	bind := func(pm *PathModifier) error {
		if pm.Kind != "prefix" {
			return nil
		}
		if gr.PathExact {
			return fmt.Errorf("replacePrefixMatch needs a PathPrefix match")
		}
		pm.Matched = gr.Path
		return nil
	}
	if gr.Redirect != nil {
		r := *gr.Redirect
		if err := bind(&r.Path); err != nil {
			return err
		}
		gr.Redirect = &r
	}
	if gr.Rewrite != nil {
		r := *gr.Rewrite
		if err := bind(&r.Path); err != nil {
			return err
		}
		gr.Rewrite = &r
	}
	return nil
}

func unsupportedRuleFields(r gatewayv1.HTTPRouteRule) error {
	switch {
	case r.Timeouts != nil:
		return fmt.Errorf("timeouts are not supported")
	case r.Retry != nil:
		return fmt.Errorf("retry is not supported")
	case r.SessionPersistence != nil:
		return fmt.Errorf("sessionPersistence is not supported")
	}
	return nil
}

func compileMatch(gr *GatewayRule, m gatewayv1.HTTPRouteMatch) error {
	gr.Path = "/"
	if p := m.Path; p != nil {
		kind := gatewayv1.PathMatchPathPrefix
		if p.Type != nil {
			kind = *p.Type
		}
		value := "/"
		if p.Value != nil {
			value = *p.Value
		}
		if err := checkRoutePath(value); err != nil {
			return err
		}
		switch kind {
		case gatewayv1.PathMatchExact:
			gr.PathExact, gr.Path = true, value
		case gatewayv1.PathMatchPathPrefix:
			if value != "/" {
				value = strings.TrimRight(value, "/")
			}
			if value == "" {
				value = "/"
			}
			gr.Path = value
		default:
			return fmt.Errorf("path match type %s is not supported", printable(string(kind)))
		}
	}
	if m.Method != nil {
		if !httpMethods[string(*m.Method)] {
			return fmt.Errorf("method %s is not supported", printable(string(*m.Method)))
		}
		gr.Method = string(*m.Method)
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		if h.Type != nil && *h.Type != gatewayv1.HeaderMatchExact {
			return fmt.Errorf("header match type %s is not supported", printable(string(*h.Type)))
		}
		if err := checkHeaderName(string(h.Name)); err != nil {
			return err
		}
		if err := checkQuotable("header value", h.Value, 4096); err != nil {
			return err
		}
		// Header names are case-insensitive; the first of a name counts.
		if name := strings.ToLower(string(h.Name)); !seen[name] {
			seen[name] = true
			gr.Headers = append(gr.Headers, NameValue{Name: name, Value: h.Value})
		}
	}
	seen = map[string]bool{}
	for _, q := range m.QueryParams {
		if q.Type != nil && *q.Type != gatewayv1.QueryParamMatchExact {
			return fmt.Errorf("query parameter match type %s is not supported", printable(string(*q.Type)))
		}
		if err := checkParamName(string(q.Name)); err != nil {
			return err
		}
		if err := checkQuotable("query parameter value", q.Value, 1024); err != nil {
			return err
		}
		if !seen[string(q.Name)] {
			seen[string(q.Name)] = true
			gr.Query = append(gr.Query, NameValue{Name: string(q.Name), Value: q.Value})
		}
	}
	return nil
}

// compileActions validates a rule's filters and backendRefs.
func (b *builder) compileActions(rt *gatewayv1.HTTPRoute, r gatewayv1.HTTPRouteRule, field string, refs *routeRefs) (GatewayRule, error) {
	var gr GatewayRule
	for k, f := range r.Filters {
		if err := compileFilter(&gr, f); err != nil {
			return gr, fmt.Errorf("filters[%d]: %w", k, err)
		}
	}
	if gr.Redirect != nil {
		return gr, nil
	}
	for k, ref := range r.BackendRefs {
		edits, err := backendFilters(ref.Filters)
		if err != nil {
			return gr, fmt.Errorf("backendRefs[%d].%w", k, err)
		}
		weight := int32(1)
		if ref.Weight != nil {
			weight = *ref.Weight
		}
		name := b.routeBackend(rt, ref.BackendObjectReference, fmt.Sprintf("%s.backendRefs[%d]", field, k), refs)
		gr.Backends = append(gr.Backends, WeightedBackend{Backend: name, Weight: weight, RequestHeaders: edits})
	}
	return gr, nil
}

// routeBackend resolves a backendRef to a backend name, "" (500) when
// it is invalid.
func (b *builder) routeBackend(rt *gatewayv1.HTTPRoute, ref gatewayv1.BackendObjectReference, field string, refs *routeRefs) string {
	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	fail := func(reason, message string, missing bool) string {
		refs.fail(reason, field+": "+message)
		b.rejections = append(b.rejections, Rejection{Kind: "HTTPRoute", Namespace: rt.Namespace, Name: rt.Name,
			Field: field, Reason: message + "; its requests get 500", Warning: true, Missing: missing})
		return ""
	}
	if group != "" || kind != "Service" {
		return fail(string(gatewayv1.RouteReasonInvalidKind), "only core Services are supported, not "+printable(group+"/"+kind), false)
	}
	ns := rt.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if ns != rt.Namespace && !b.granted(rt.Namespace, "HTTPRoute", ns, "", "Service", string(ref.Name)) {
		return fail(string(gatewayv1.RouteReasonRefNotPermitted), "no ReferenceGrant in "+printable(ns)+" allows a reference to this Service", false)
	}
	if ref.Port == nil {
		return fail(string(gatewayv1.RouteReasonUnsupportedValue), "port is required for a Service", false)
	}
	if validateNamespace(ns) != nil || validateServiceName(string(ref.Name)) != nil {
		return fail(string(gatewayv1.RouteReasonBackendNotFound), "invalid Service name", false)
	}
	svc, ok := b.services[ns+"/"+string(ref.Name)]
	port := servicePortNumber(int32(*ref.Port))
	if !ok || findServicePort(svc, port) == nil {
		return fail(string(gatewayv1.RouteReasonBackendNotFound), fmt.Sprintf("service %s/%s port %d not found", ns, ref.Name, *ref.Port), !ok)
	}
	be, problem := b.backend(ns, string(ref.Name), port)
	if problem != "" {
		return fail(string(gatewayv1.RouteReasonBackendNotFound), problem, false)
	}
	return be.Name
}

// attachRoute places a route's rules on the listeners of one parentRef
// and returns that parent's conditions.
func (b *builder) attachRoute(rt *gatewayv1.HTTPRoute, index int, ref gatewayv1.ParentReference, ls []*listener, rules []compiledRule, dropped []string, refs routeRefs, nsLabels map[string]map[string]string) []metav1.Condition {
	gen := rt.Generation
	var candidates []*listener
	for _, l := range ls {
		if ref.SectionName != nil && *ref.SectionName != l.spec.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.spec.Port {
			continue
		}
		candidates = append(candidates, l)
	}
	routeHosts := make([]string, 0, len(rt.Spec.Hostnames))
	var badHost error
	for i, h := range rt.Spec.Hostnames {
		key := routeHostKey(string(h))
		if err := checkGatewayHost(key); err != nil && badHost == nil {
			badHost = fmt.Errorf("spec.hostnames[%d]: %w", i, err)
		}
		routeHosts = append(routeHosts, key)
	}
	accepted, reason, message := false, string(gatewayv1.RouteReasonNoMatchingParent), "no listener matches the parentRef"
	if len(candidates) > 0 {
		reason, message = string(gatewayv1.RouteReasonNotAllowedByListeners), "no listener allows routes from this namespace"
	}
	if badHost != nil {
		// Nothing of the route is served: its hostnames are not checked
		// values.
		candidates = nil
		reason, message = string(gatewayv1.RouteReasonUnsupportedValue), badHost.Error()
	}
	for _, l := range candidates {
		if !l.accepted || len(l.status.SupportedKinds) == 0 || !l.allows(rt.Namespace, nsLabels[rt.Namespace]) {
			continue
		}
		hosts, ok := intersectHosts(l.hostname(), routeHosts)
		if !ok {
			if reason != string(gatewayv1.RouteReasonNoMatchingListenerHostname) && !accepted {
				reason, message = string(gatewayv1.RouteReasonNoMatchingListenerHostname), "no listener hostname matches the route's hostnames"
			}
			continue
		}
		accepted = true
		if key := rt.Namespace + "/" + rt.Name; !l.routes[key] {
			if l.routes == nil {
				l.routes = map[string]bool{}
			}
			l.routes[key] = true
			l.status.AttachedRoutes++
		}
		if !l.ok || len(rules) == 0 {
			continue // attached, but the listener serves nothing
		}
		for _, cr := range rules {
			for _, m := range cr.matches {
				for _, h := range hosts {
					gr := m
					gr.Listener, gr.Hostname = l.id, h
					if gr.Redirect != nil {
						redirect := *gr.Redirect
						if redirect.Port == 0 && redirect.Scheme == "" {
							redirect.Port = int32(l.spec.Port)
						}
						gr.Redirect = &redirect
					}
					l.frontend.Rules = append(l.frontend.Rules, gr)
				}
			}
		}
	}
	if accepted && len(rules) == 0 && len(dropped) > 0 {
		accepted, reason, message = false, string(gatewayv1.RouteReasonUnsupportedValue), "every rule was dropped: "+strings.Join(dropped, "; ")
	} else if accepted {
		reason, message = string(gatewayv1.RouteReasonAccepted), "route accepted"
	}
	if !accepted {
		b.warn("HTTPRoute", rt.Namespace, rt.Name, fmt.Sprintf("spec.parentRefs[%d]", index), reason+": "+message)
	}
	conds := []metav1.Condition{
		condition(string(gatewayv1.RouteConditionAccepted), accepted, reason, message, gen),
		condition(string(gatewayv1.RouteConditionResolvedRefs), refs.ok, refs.reason, refs.message, gen),
	}
	if len(dropped) > 0 && len(rules) > 0 {
		conds = append(conds, condition(string(gatewayv1.RouteConditionPartiallyInvalid), true,
			string(gatewayv1.RouteReasonUnsupportedValue), "Dropped Rule(s): "+strings.Join(dropped, "; "), gen))
	}
	return conds
}

// sortRules orders a frontend's rules by the Gateway API's precedence and
// numbers them.
func sortRules(rules []GatewayRule, created map[string]metav1.Time) {
	slices.SortStableFunc(rules, func(x, y GatewayRule) int {
		if c := hostRank(x.Hostname, y.Hostname); c != 0 {
			return c
		}
		if x.PathExact != y.PathExact {
			if x.PathExact {
				return -1
			}
			return 1
		}
		if len(x.Path) != len(y.Path) {
			return len(y.Path) - len(x.Path)
		}
		if (x.Method != "") != (y.Method != "") {
			if x.Method != "" {
				return -1
			}
			return 1
		}
		if len(x.Headers) != len(y.Headers) {
			return len(y.Headers) - len(x.Headers)
		}
		if len(x.Query) != len(y.Query) {
			return len(y.Query) - len(x.Query)
		}
		tx, ty := created[x.Route], created[y.Route]
		if !tx.Equal(&ty) {
			if tx.Before(&ty) {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Route, y.Route)
	})
	for i := range rules {
		rules[i].ID = fmt.Sprintf("r%d", i)
	}
}

// hostRank orders exact hostnames before wildcards before any host, the
// longer first.
func hostRank(x, y string) int {
	class := func(h string) int {
		switch {
		case h == "":
			return 2
		case strings.HasPrefix(h, "*"):
			return 1
		}
		return 0
	}
	if cx, cy := class(x), class(y); cx != cy {
		return cx - cy
	}
	if len(x) != len(y) {
		return len(y) - len(x)
	}
	return strings.Compare(x, y)
}
