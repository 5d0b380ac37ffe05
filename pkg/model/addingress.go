package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// A new Ingress at 10k Ingresses cost a full Build (60-300 ms) before it
// served. The common one (new hosts, Services other Ingresses already
// route to, no annotations and no TLS) adds routes and map entries that
// nothing else in the model reads: no other Ingress names its hosts, its
// backends exist already, and it claims no option, certificate, policy or
// default. AddIngress takes that shape in without building the rest again.

// AddIngress returns the model that Build gives for the snapshot prev was
// built from plus ing, a new Ingress, and "" — or, when ing is not of that
// shape, the reason and a zero Config: the caller builds in full. prev is
// not modified; the result shares every unchanged part of it. classes are
// those prev was built from.
func AddIngress(prev *Config, ing *networkingv1.Ingress, classes []*networkingv1.IngressClass, opts Options) (Config, string) {
	if !IsOurs(ing, classes, opts) {
		return *prev, "" // Build leaves it out, as if it were not there
	}
	id := ing.Namespace + "/" + ing.Name
	if why := addableShape(ing, opts); why != "" {
		return Config{}, why
	}
	if _, served := slices.BinarySearch(prev.Served, id); served {
		return Config{}, "it is served already"
	}
	b := newBuilder(opts)
	if v := b.validateIngress(ing); len(v.errs) > 0 || len(v.warnings) > 0 {
		return Config{}, "it has problems to report"
	}
	var named []string
	var added Maps // the new entries
	routes := map[routeKey]bool{}
	for _, rule := range ing.Spec.Rules {
		hostKey := hostKeyOf(rule.Host)
		if _, taken := slices.BinarySearch(prev.NamedHosts, hostKey); taken {
			return Config{}, fmt.Sprintf("another Ingress names host %q", displayHost(hostKey))
		}
		named = append(named, hostKey)
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			backend, why := existingBackend(prev, ing.Namespace, p.Backend)
			if why != "" {
				return Config{}, why
			}
			isExact, path := normalizePath(p)
			key := routeKey{hostKey: hostKey, exact: isExact, path: path}
			if routes[key] {
				return Config{}, "two of its paths are the same route"
			}
			routes[key] = true
			added.addHost(hostKey)
			added.addRoute(key, backend)
		}
	}
	out := *prev
	out.Served = insertSorted(prev.Served, []string{id})
	out.NamedHosts = insertSorted(prev.NamedHosts, named)
	out.Maps.Hosts = insertEntries(prev.Maps.Hosts, added.Hosts)
	if out.Maps.Hosts == nil && len(routes) > 0 {
		out.Maps.Hosts = []MapEntry{} // as Build sizes it by every host key, hostless and wildcards too
	}
	out.Maps.Wildcards = insertEntries(prev.Maps.Wildcards, added.Wildcards)
	out.Maps.ExactPaths = insertEntries(prev.Maps.ExactPaths, added.ExactPaths)
	out.Maps.PrefixPaths = insertEntries(prev.Maps.PrefixPaths, added.PrefixPaths)
	return out, ""
}

// addableShape returns why ing cannot be added on its own by its shape, or
// "": TLS, default backends and Bollard annotations all reach parts of the
// model that other Ingresses share.
func addableShape(ing *networkingv1.Ingress, opts Options) string {
	if _, refused := opts.Refused[ing.Namespace+"/"+ing.Name]; refused {
		return "HAProxy refused it"
	}
	if len(ing.Spec.TLS) > 0 {
		return "it has TLS entries"
	}
	if ing.Spec.DefaultBackend != nil {
		return "it has a default backend"
	}
	for key := range ing.Annotations {
		if strings.HasPrefix(key, AnnotationPrefix) {
			return "it has Bollard annotations"
		}
	}
	return ""
}

// existingBackend returns the name of the backend ref resolves to, which
// must be in prev with endpoints (its Service port resolved) and without
// policies (a route to it would need a policy entry), or why not.
func existingBackend(prev *Config, namespace string, ref networkingv1.IngressBackend) (string, string) {
	if ref.Service == nil || ref.Resource != nil {
		return "", "a path has no Service backend"
	}
	name := BackendName(namespace, ref.Service.Name, portRef(ref.Service.Port))
	be, ok := prev.Backend(name)
	switch {
	case !ok:
		return "", "backend " + name + " is new"
	case be.Endpoints == nil:
		return "", "backend " + name + " has a Service problem to report"
	case be.Options.Policies:
		return "", "backend " + name + " has route policies"
	}
	return name, ""
}

// insertSorted returns sorted with add merged in, as a new slice; sorted
// itself is shared with other models and is not changed.
func insertSorted(sorted, add []string) []string {
	if len(add) == 0 {
		return sorted
	}
	add = slices.Clone(add)
	slices.Sort(add)
	out := make([]string, 0, len(sorted)+len(add))
	i := 0
	for _, s := range add {
		j, found := slices.BinarySearch(sorted[i:], s)
		out = append(out, sorted[i:i+j]...)
		i += j
		if !found && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return append(out, sorted[i:]...)
}

// insertEntries is insertSorted for map entries sorted by Key, whose keys
// are not in sorted yet.
func insertEntries(sorted, add []MapEntry) []MapEntry {
	if len(add) == 0 {
		return sorted
	}
	add = slices.Clone(add)
	byKey := func(x, y MapEntry) int { return cmp.Compare(x.Key, y.Key) }
	slices.SortFunc(add, byKey)
	add = slices.CompactFunc(add, func(x, y MapEntry) bool { return x.Key == y.Key })
	out := make([]MapEntry, 0, len(sorted)+len(add))
	i := 0
	for _, e := range add {
		j, _ := slices.BinarySearchFunc(sorted[i:], e.Key, func(x MapEntry, k string) int { return cmp.Compare(x.Key, k) })
		out = append(out, sorted[i:i+j]...)
		out = append(out, e)
		i += j
	}
	return append(out, sorted[i:]...)
}
