package model_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// TestNormalizePath: the expected forms are those HAProxy 2.6.12's
// normalize-uri rules in templates/haproxy.cfg gave (pkg/render's
// TestNormalisationMatchesHAProxy checks the function against the binary).
func TestNormalizePath(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"/admin/x", "/admin/x", nil},
		{"", "", nil},
		{"/", "/", nil},
		{"//admin/x", "/admin/x", nil},
		{"/a///b//", "/a/b/", nil},
		{"/./admin/x", "/admin/x", nil},
		{"/x/../admin/x", "/admin/x", nil},
		{"/%61dmin/x", "/admin/x", nil},
		{"/%61%64min/x", "/admin/x", nil},
		{"/%7euser", "/~user", nil},
		{"/%7Euser", "/~user", nil},
		{"/a%2d%2E%5f%7E%30", "/a-._~0", nil},
		{"/%3a%3A%20", "/%3A%3A%20", nil},
		{"/%2541", "/%2541", nil}, // decoded once, never twice
		{"/a/.", "/a/", nil},
		{"/a/..", "/", nil},
		{"/a/b/..", "/a/", nil},
		{"/a/b/../..", "/", nil},
		{"/a/%2E%2E/b", "/b", nil},
		{"/a//../b", "/b", nil},
		{"/a/./../b", "/b", nil},
		{"/.", "/", nil},
		{"/.well-known/x", "/.well-known/x", nil},
		{"/a/...", "/a/...", nil},
		{"/a/..b/.c", "/a/..b/.c", nil},
		{"/ADMIN", "/ADMIN", nil}, // paths are case sensitive
		{"/..", "", model.ErrAboveRoot},
		{"/../x", "", model.ErrAboveRoot},
		{"/a/../../x", "", model.ErrAboveRoot},
		{"/%2e%2e/x", "", model.ErrAboveRoot},
		{"/./..", "", model.ErrAboveRoot},
		{"/admin%2fx", "", model.ErrEncodedSlash},
		{"/admin%2Fx", "", model.ErrEncodedSlash},
		{"/%zz", "", model.ErrBadEscape},
		{"/a%2", "", model.ErrBadEscape},
		{"/a%", "", model.ErrBadEscape},
	}
	for _, c := range cases {
		got, err := model.NormalizePath(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
		if err != nil {
			continue
		}
		// The normal form is a fixed point.
		if again, err := model.NormalizePath(got); err != nil || again != got {
			t.Errorf("NormalizePath(%q) = %q, %v; a normal form must stay as it is", got, again, err)
		}
	}
}

// TestRoutesKeyedByNormalForm: a route written in a non-normal form is
// keyed by the form HAProxy gives the requests, so both meet; two spellings
// of one route conflict; a route HAProxy would answer with 400 is rejected.
func TestRoutesKeyedByNormalForm(t *testing.T) {
	snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("ns", "a", mt.Rule("h.example",
			mt.Path("Prefix", "/%7euser", "svc", 80),
			mt.Path("Prefix", "/a//b/", "svc", 80),
			mt.Path("Exact", "/x/./y/../z%3a", "svc", 80),
			mt.Path("ImplementationSpecific", "/%41dmin", "svc", 80),
			mt.Path("Prefix", "/admin", "other", 80),
		)),
		mt.Ingress("ns", "above-root", mt.Rule("h.example", mt.Path("Prefix", "/../etc", "svc", 80))),
		mt.Ingress("ns", "encoded-slash", mt.Rule("h.example", mt.Path("Exact", "/a%2Fb", "svc", 80))),
	}}
	cfg, rejections := model.Build(snap, options())
	prefix := entries(cfg.Maps.PrefixPaths)
	for key, want := range map[string]string{"h.example/~user/": "ns_svc_80", "h.example/a/b/": "ns_svc_80", "h.example/Admin/": "ns_svc_80", "h.example/admin/": "ns_other_80"} {
		if prefix[key] != want {
			t.Errorf("prefix map %v: want %s -> %s", prefix, key, want)
		}
	}
	if len(prefix) != 4 {
		t.Errorf("prefix map %v: want only the normal forms", prefix)
	}
	if got := entries(cfg.Maps.ExactPaths); len(got) != 1 || got["h.example/x/z%3A"] != "ns_svc_80" {
		t.Errorf("exact map %v, want h.example/x/z%%3A", got)
	}
	var reasons []string
	for _, r := range rejections {
		if !r.Warning {
			reasons = append(reasons, r.Name+" "+r.Field+": "+r.Reason)
		}
	}
	want := []string{
		`above-root spec.rules[0].http.paths[0].path: path "/../etc" has a ".." segment above the root; HAProxy answers requests with one with 400, so the route could never match`,
		`encoded-slash spec.rules[0].http.paths[0].path: path "/a%2Fb" has an encoded slash (%2F); HAProxy answers requests with one with 400, so the route could never match`,
	}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(want, "\n"))
	}

	// Two spellings of the same route: the second is a conflict that names
	// the normal form.
	snap = model.Snapshot{Ingresses: []*networkingv1.Ingress{
		mt.Ingress("ns", "old", mt.Rule("h.example", mt.Path("Prefix", "/~user", "old", 80))),
		mt.Ingress("ns", "young", mt.Age(time.Hour), mt.Rule("h.example", mt.Path("Prefix", "/%7Euser/", "young", 80))),
	}}
	cfg, rejections = model.Build(snap, options())
	if got := entries(cfg.Maps.PrefixPaths)["h.example/~user/"]; got != "ns_old_80" {
		t.Errorf("the older spelling must win, got %q", got)
	}
	assertRejections(t, rejections, []string{
		`Ingress ns/young: rejected: spec.rules[0].http.paths[0].path: host "h.example" path "/%7Euser/" (normalised "/~user/") is already routed by the older Ingress ns/old`,
	})
}
