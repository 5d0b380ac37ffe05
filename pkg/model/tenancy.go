package model

import (
	"fmt"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// HostOwnership says whether Ingresses of several namespaces may serve one
// host. The zero value behaves as HostOwnershipShared.
type HostOwnership string

// Host ownership modes (--host-ownership).
const (
	// HostOwnershipShared is what the Ingress spec allows: any namespace may
	// add paths to any host; the older Ingress wins each conflicting path.
	HostOwnershipShared HostOwnership = "shared"
	// HostOwnershipFirstNamespace gives a host to the namespace of the
	// oldest Ingress that has rules for it.
	HostOwnershipFirstNamespace HostOwnership = "first-namespace"
)

// ParseHostOwnership parses a --host-ownership value.
func ParseHostOwnership(s string) (HostOwnership, error) {
	switch h := HostOwnership(s); h {
	case HostOwnershipShared, HostOwnershipFirstNamespace:
		return h, nil
	}
	return "", fmt.Errorf("%q is not a host ownership mode: want %s or %s", s, HostOwnershipShared, HostOwnershipFirstNamespace)
}

// ParseEndpointCIDRs parses a comma-separated list of IPv4 and IPv6
// prefixes (--endpoint-cidrs). An empty string gives no prefixes.
func ParseEndpointCIDRs(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var prefixes []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("endpoint CIDR %q: %w", part, err)
		}
		// Host bits usually mean a typo; masking them silently would
		// allow a different range than the one the operator read.
		if p != p.Masked() {
			return nil, fmt.Errorf("endpoint CIDR %q has host bits set; did you mean %s?", part, p.Masked())
		}
		// Endpoint addresses are never IPv4-mapped IPv6 (they are
		// refused), so such a prefix could only be a mistake.
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("endpoint CIDR %q is IPv4-mapped IPv6; write the IPv4 prefix", part)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

// hostOwner is the namespace that owns a host key under
// HostOwnershipFirstNamespace, and the Ingress that made it the owner.
type hostOwner struct {
	namespace string
	ingress   string
}

// claimHosts records, under first-namespace ownership, the owner of each
// host key: the namespace of the oldest accepted Ingress with a rule for it.
// It runs before any Ingress is added, so that a TLS entry of an older
// Ingress cannot take a host that a younger Ingress of the owner serves
// rules for. ours is sorted oldest first.
func (b *builder) claimHosts(ours []*networkingv1.Ingress) {
	if b.opts.HostOwnership != HostOwnershipFirstNamespace {
		return
	}
	b.hostOwners = map[string]hostOwner{}
	b.validated = make(map[*networkingv1.Ingress]validation, len(ours))
	for _, ing := range ours {
		// An Ingress that is left out (refused by HAProxy, or invalid)
		// must not own hosts; addIngress reports its errors, from the
		// validation kept here.
		if _, refused := b.opts.Refused[ing.Namespace+"/"+ing.Name]; refused {
			continue
		}
		var v validation
		v = b.validateIngress(ing)
		b.validated[ing] = v
		if len(v.errs) > 0 {
			continue
		}
		for _, rule := range ing.Spec.Rules {
			key := hostKeyOf(rule.Host)
			if _, taken := b.hostOwners[key]; !taken {
				b.hostOwners[key] = hostOwner{namespace: ing.Namespace, ingress: ing.Namespace + "/" + ing.Name}
			}
		}
	}
}

// foreignHost returns why namespace may not serve hostKey, or "".
func (b *builder) foreignHost(namespace, hostKey string) string {
	owner, ok := b.hostOwners[hostKey]
	if !ok || owner.namespace == namespace {
		return ""
	}
	if hostKey == HostlessKey {
		return fmt.Sprintf("rules without a host are owned by namespace %s (oldest Ingress %s)", owner.namespace, owner.ingress)
	}
	return fmt.Sprintf("host %q is owned by namespace %s (oldest Ingress %s)", hostKey, owner.namespace, owner.ingress)
}

// refuseTLSHosts rejects the hosts of TLS entry i that another namespace
// owns and returns them (nil when there are none).
func (b *builder) refuseTLSHosts(ing *networkingv1.Ingress, i int, hosts []string) map[string]bool {
	var refused map[string]bool
	for j, h := range hosts {
		if reason := b.foreignHost(ing.Namespace, h); reason != "" {
			b.reject("Ingress", ing.Namespace, ing.Name, fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j), reason)
			if refused == nil {
				refused = map[string]bool{}
			}
			refused[h] = true
		}
	}
	return refused
}

// checkEndpointRange refuses addresses that must never receive proxied
// traffic, and, when --endpoint-cidrs is set, those outside it. Loopback
// and link-local addresses reach the node, HAProxy itself or cloud
// metadata services; API servers before 1.33 accept them in
// EndpointSlices. They pass only when an EndpointCIDRs prefix at least as
// narrow as the special range holds them (tests that run backends on
// loopback), never through a broad prefix such as 0.0.0.0/0.
func (b *builder) checkEndpointRange(addr netip.Addr) error {
	special, what := specialRange(addr)
	allowed := false
	for _, p := range b.opts.EndpointCIDRs {
		if p.Contains(addr) && (!special.IsValid() || p.Bits() >= special.Bits()) {
			allowed = true
			break
		}
	}
	switch {
	case allowed:
		return nil
	case special.IsValid():
		return fmt.Errorf("address %s is %s (%s), which cannot be an endpoint", addr, what, special)
	case len(b.opts.EndpointCIDRs) > 0:
		return fmt.Errorf("address %s is outside the ranges of --endpoint-cidrs", addr)
	}
	return nil
}

// specialRange returns the loopback or link-local range that holds addr.
func specialRange(addr netip.Addr) (netip.Prefix, string) {
	bits := 0
	what := ""
	switch {
	case addr.IsLoopback() && addr.Is4():
		bits, what = 8, "loopback"
	case addr.IsLoopback():
		bits, what = 128, "loopback"
	case addr.IsLinkLocalUnicast() && addr.Is4():
		bits, what = 16, "link-local"
	case addr.IsLinkLocalUnicast():
		bits, what = 10, "link-local"
	default:
		return netip.Prefix{}, ""
	}
	return netip.PrefixFrom(addr, bits).Masked(), what
}
