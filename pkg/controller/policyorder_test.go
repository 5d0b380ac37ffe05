package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
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
	if strings.Contains(commandLines(u), "replace map") {
		t.Errorf("one changed entry per file must stay a plain command:\n%s", commandLines(u))
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

// mapFile returns the entries cfg holds for the map file at path.
func mapFile(t *testing.T, cfg *model.Config, path string) []model.MapEntry {
	t.Helper()
	for _, f := range render.MapFiles(&cfg.Maps) {
		if f.Path == path {
			return *f.Entries
		}
	}
	t.Fatalf("no map file %s", path)
	return nil
}

// swapOf returns the entries a "replace map" command installs, as a map.
func swapOf(t *testing.T, cmd haproxy.Command) (string, map[string]string) {
	t.Helper()
	file, entries, ok := cmd.MapSwap()
	if !ok {
		t.Fatalf("%q is not a map swap", cmd)
	}
	m := map[string]string{}
	for _, e := range entries {
		if _, dup := m[e.Key]; dup {
			t.Fatalf("swap of %s lists %q twice", file, e.Key)
		}
		m[e.Key] = e.Value
	}
	return file, m
}

// One allow-list replaced by another changes two entries in each of the
// CIDR maps: each file changes by one atomic swap, never entry by entry
// (the union of both lists would pass in between). The forward swaps keep
// the old CIDRs, in MapFiles order; the reverse swaps leave exactly the new
// ones, in reverse order, so a CIDR still goes before its members.
func TestMapSwapOrder(t *testing.T) {
	allow := func(list string) *model.Config {
		web := mt.Ingress("ns", "web", mt.Annotation("bollard.io/allow-list", list), mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
		return build(t, baseSnapshot(web))
	}
	before, after := allow("10.0.0.0/8,10.1.0.0/16"), allow("192.168.0.0/16,172.16.0.0/12")
	u := newRunning(before).diff(after, relRefs{}, versionFeatures(t, "2.6.12"))
	if u.reload != "" {
		t.Fatalf("reload %q", u.reload)
	}
	var order []string
	for _, cmd := range u.commands {
		if _, _, ok := cmd.MapSwap(); !ok {
			t.Errorf("a single command where one swap per file was wanted: %q", cmd)
			continue
		}
		file, got := swapOf(t, cmd)
		order = append(order, file)
		want := entryMap(mapFile(t, after, file))
		if len(order) <= 2 { // forward: the new entries and the old ones
			for _, e := range mapFile(t, before, file) {
				if _, ok := want[e.Key]; !ok {
					want[e.Key] = e.Value
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("swap %d of %s installs %v, want %v", len(order), file, got, want)
		}
	}
	wantOrder := []string{render.PolicyCIDRMembersMap, render.PolicyCIDRsMap, render.PolicyCIDRsMap, render.PolicyCIDRMembersMap}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("swaps in order %q, want %q:\n%s", order, wantOrder, commandLines(u))
	}
	if u.counts["map"] != len(u.commands) {
		t.Errorf("counts %v for %d commands: a swap counts as one map command", u.counts, len(u.commands))
	}
}

// Routes of two new Ingresses change two entries of the host and path
// maps: one swap each. One new Ingress stays a plain add map per file.
func TestMapSwapThreshold(t *testing.T) {
	ing := func(name, host string) *networkingv1.Ingress {
		return mt.Ingress("ns", name, mt.Rule(host, mt.Path("Prefix", "/", "web", 80)))
	}
	base := build(t, baseSnapshot(ing("web", "web.example")))
	features := versionFeatures(t, "2.6.12")

	one := newRunning(base).diff(build(t, baseSnapshot(ing("web", "web.example"), ing("a", "a.example"))), relRefs{}, features)
	if strings.Contains(commandLines(one), "replace map") || !strings.Contains(commandLines(one), "add map maps/hosts.map a.example") {
		t.Errorf("one new route: want plain add map commands:\n%s", commandLines(one))
	}

	two := newRunning(base).diff(build(t, baseSnapshot(ing("web", "web.example"), ing("a", "a.example"), ing("b", "b.example"))), relRefs{}, features)
	lines := commandLines(two)
	if strings.Contains(lines, "add map") || !strings.Contains(lines, "replace map maps/hosts.map (3 entries)") {
		t.Errorf("two new routes: want one swap per map file:\n%s", lines)
	}
	seen := map[string]bool{}
	for _, cmd := range two.commands {
		if file, _, ok := cmd.MapSwap(); ok {
			if seen[file] {
				t.Errorf("%s swapped twice:\n%s", file, lines)
			}
			seen[file] = true
		}
	}

	// A map of more than swapMaxEntries changes entry by entry: a swap
	// sends the whole map.
	var many []*networkingv1.Ingress
	for i := range swapMaxEntries {
		many = append(many, ing(fmt.Sprint("i", i), fmt.Sprintf("h%d.example", i)))
	}
	big := build(t, baseSnapshot(many...))
	grown := build(t, baseSnapshot(append(many, ing("a", "a.example"), ing("b", "b.example"))...))
	lines = commandLines(newRunning(big).diff(grown, relRefs{}, features))
	if strings.Contains(lines, "replace map maps/hosts.map") || !strings.Contains(lines, "add map maps/hosts.map a.example") ||
		!strings.Contains(lines, "add map maps/hosts.map b.example") {
		t.Errorf("two new routes beside %d others: want add map commands, no swap:\n%s", swapMaxEntries, lines)
	}
	lines = commandLines(newRunning(grown).diff(big, relRefs{}, features))
	if strings.Contains(lines, "replace map maps/hosts.map") || !strings.Contains(lines, "del map maps/hosts.map a.example") {
		t.Errorf("two routes removed beside %d others: want del map commands, no swap:\n%s", swapMaxEntries, lines)
	}
}

// The passes of one map file: a swap where two or more entries change in
// that pass, one command where one does, nothing where none does.
func TestMapSwapPasses(t *testing.T) {
	entries := func(kv ...string) []model.MapEntry {
		var out []model.MapEntry
		for i := 0; i < len(kv); i += 2 {
			out = append(out, model.MapEntry{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name       string
		have, want []model.MapEntry
		commands   []string // String() of each command; a swap as its entries
	}{
		{"two sets and one deletion", entries("a", "1", "b", "1", "c", "1"), entries("a", "2", "b", "2"),
			[]string{"swap a 2, b 2, c 1", "del map maps/hosts.map c"}},
		{"one set and two deletions", entries("a", "1", "b", "1", "c", "1"), entries("a", "2"),
			[]string{"set map maps/hosts.map a 2", "swap a 2"}},
		{"one add", entries("a", "1"), entries("a", "1", "b", "1"), []string{"add map maps/hosts.map b 1"}},
		{"an add and a set", entries("a", "1"), entries("a", "2", "b", "1"), []string{"swap a 2, b 1"}},
		{"everything deleted", entries("a", "1", "b", "1"), nil, []string{"swap "}},
		{"nothing changed", entries("a", "1", "b", "1"), entries("a", "1", "b", "1"), nil},
	}
	for _, tc := range tests {
		have, want := &model.Config{}, &model.Config{}
		have.Maps.Hosts, want.Maps.Hosts = tc.have, tc.want
		u := &update{counts: map[string]int{}}
		newRunning(have).diffMaps(want, relRefs{}, u)
		var got []string
		for _, cmd := range u.commands {
			file, es, ok := cmd.MapSwap()
			if !ok {
				got = append(got, cmd.String())
				continue
			}
			var parts []string
			for _, e := range es {
				parts = append(parts, e.Key+" "+e.Value)
			}
			if file != "maps/hosts.map" {
				t.Errorf("%s: swap of %s", tc.name, file)
			}
			got = append(got, "swap "+strings.Join(parts, ", "))
		}
		if !slices.Equal(got, tc.commands) || u.reload != "" || u.counts["map"] != len(tc.commands) {
			t.Errorf("%s: %q (reload %q, counts %v), want %q", tc.name, got, u.reload, u.counts, tc.commands)
		}
	}
}
