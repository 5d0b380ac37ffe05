package conformance

import (
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

func TestPathRules(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-path")
	for _, s := range []string{"exact", "prefix", "aaabbb", "aaa", "same-exact", "same-prefix", "slash-prefix", "slash-exact"} {
		cluster.Echo(t, ns, s, 1)
	}
	p := func(path, typ, svc string) framework.Path { return framework.Path{Path: path, Type: typ, Service: svc} }
	cluster.MustApply(t, ns, framework.IngressYAML("paths", "paths.example",
		p("/foo", "Exact", "exact"),
		p("/bar", "Prefix", "prefix"),
		p("/aaa/bbb", "Prefix", "aaabbb"),
		p("/aaa", "Prefix", "aaa"),
		p("/same", "Exact", "same-exact"),
		p("/same", "Prefix", "same-prefix"),
		p("/ccc/ddd/", "Prefix", "slash-prefix"),
		p("/eee/", "Exact", "slash-exact"),
	))
	expectService(t, b, "paths.example", "/foo", "exact")
	t.Run("exact", func(t *testing.T) {
		record(t, "path rules", "Exact /foo serves /foo only; /foo/, /FOO and /baz get 404")
		expectService(t, b, "paths.example", "/foo", "exact")
		for _, path := range []string{"/foo/", "/FOO", "/baz"} {
			expectStatus(t, b, "paths.example", path, http.StatusNotFound)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		record(t, "path rules", "Prefix /bar serves /bar, /bar/ and /bar/x; /BAR and /barx get 404")
		for _, path := range []string{"/bar", "/bar/", "/bar/x"} {
			expectService(t, b, "paths.example", path, "prefix")
		}
		expectStatus(t, b, "paths.example", "/BAR", http.StatusNotFound)
		expectStatus(t, b, "paths.example", "/barx", http.StatusNotFound)
	})
	t.Run("longest prefix wins", func(t *testing.T) {
		record(t, "path rules", "with /aaa/bbb and /aaa: /aaa/bbb/ccc → the first, /aaa/ccc → the second, /aaaccc → 404")
		expectService(t, b, "paths.example", "/aaa/bbb/ccc", "aaabbb")
		expectService(t, b, "paths.example", "/aaa/ccc", "aaa")
		expectStatus(t, b, "paths.example", "/aaaccc", http.StatusNotFound)
	})
	t.Run("exact beats prefix", func(t *testing.T) {
		record(t, "path rules", "Exact beats Prefix on the same path")
		expectService(t, b, "paths.example", "/same", "same-exact")
		expectService(t, b, "paths.example", "/same/x", "same-prefix")
	})
	t.Run("trailing slashes", func(t *testing.T) {
		record(t, "path rules", "Prefix /ccc/ddd/ serves /ccc/ddd; Exact /eee/ does not serve /eee")
		expectService(t, b, "paths.example", "/ccc/ddd", "slash-prefix")
		expectService(t, b, "paths.example", "/eee/", "slash-exact")
		expectStatus(t, b, "paths.example", "/eee", http.StatusNotFound)
	})
	t.Run("query strings", func(t *testing.T) {
		record(t, "path rules", "query strings are passed through and never affect matching")
		e := expectService(t, b, "paths.example", "/foo?x=/bar&y=1", "exact")
		if e.Path != "/foo?x=/bar&y=1" {
			t.Errorf("query lost: %q", e.Path)
		}
		expectService(t, b, "paths.example", "/bar?/foo", "prefix")
	})
}
