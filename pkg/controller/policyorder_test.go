package controller

import (
	"strings"
	"testing"

	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// A policy reaches HAProxy before the route that names it, and leaves
// after: no request sees a route's policy key without the policy's values
// (an allow-list with its CIDRs not there yet would let everyone in).
func TestPolicyMapOrder(t *testing.T) {
	plain := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	other := mt.Ingress("ns", "other", mt.Annotation("bollard.io/hsts", "true"), mt.Rule("other.example", mt.Path("Prefix", "/", "web", 80)))
	guarded := mt.Ingress("ns", "web", mt.Annotation("bollard.io/allow-list", "10.0.0.0/8"), mt.Annotation("bollard.io/limit-rps", "5"),
		mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	// "other" keeps the backend on the policy rules, so adding and removing
	// web's policy is a pure map change.
	before, after := build(t, baseSnapshot(plain, other)), build(t, baseSnapshot(guarded, other))
	features := versionFeatures(t, "2.6.12")

	u := newRunning(before).diff(after, relRefs{}, features)
	if u.reload != "" {
		t.Fatalf("adding a policy to a route of a policy backend: reload %q", u.reload)
	}
	lines := strings.Split(commandLines(u), "\n")
	position := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no command %q in\n%s", prefix, commandLines(u))
		return -1
	}
	route := position("set map maps/policy-prefix.map web.example/ ns/web")
	for _, value := range []string{"add map maps/policy-cidr-members.map ns/web|10.0.0.0/8 allow", "add map maps/policy-cidrs.map 10.0.0.0/8",
		"add map maps/policy-access.map ns/web allow", "add map maps/policy-limit-rps.map ns/web 5"} {
		if p := position(value); p > route {
			t.Errorf("%q comes after the route names the policy:\n%s", value, commandLines(u))
		}
	}

	u = newRunning(after).diff(before, relRefs{}, features)
	if u.reload != "" {
		t.Fatalf("removing a policy: reload %q", u.reload)
	}
	lines = strings.Split(commandLines(u), "\n")
	route = position("set map maps/policy-prefix.map web.example/ _")
	for _, value := range []string{"del map maps/policy-cidr-members.map ns/web|10.0.0.0/8", "del map maps/policy-cidrs.map 10.0.0.0/8",
		"del map maps/policy-access.map ns/web", "del map maps/policy-limit-rps.map ns/web"} {
		if p := position(value); p < route {
			t.Errorf("%q comes before the route stops naming the policy:\n%s", value, commandLines(u))
		}
	}
	if position("del map maps/policy-cidrs.map 10.0.0.0/8") > position("del map maps/policy-cidr-members.map ns/web|10.0.0.0/8") {
		t.Errorf("a CIDR must go before its members:\n%s", commandLines(u))
	}
}
