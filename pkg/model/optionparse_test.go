package model

import "testing"

// TestOptionParsersRefuse: values that haproxy.cfg would read differently
// from what they say, or non-ASCII look-alikes, are refused.
func TestOptionParsersRefuse(t *testing.T) {
	for _, c := range []struct {
		name  string
		parse func(string) (any, error)
		value string
	}{
		// A single quote opens a quoted word in haproxy.cfg: unmatched,
		// `haproxy -c` fails and every later change is refused with it.
		{"check path with '", parseCheckPath, "/a'"},
		{"check path with two '", parseCheckPath, "/a'b'"},
		{"cookie name with '", parseCookieName, "a'"},
		// '#' starts a comment anywhere in a word: "cookie a#b insert ..."
		// is "cookie a", without insert.
		{"cookie name with #", parseCookieName, "a#b"},
		// strings.ToUpper maps U+017F (long s) to 'S' and U+0131 (dotless
		// i) to 'I'.
		{"protocol with long s", parseProtocol, "http\u017f"},
		{"grpcs with long s", parseProtocol, "grpc\u017f"},
		{"protocol with Kelvin sign", parseProtocol, "h2c\u212a"},
	} {
		if v, err := c.parse(c.value); err == nil {
			t.Errorf("%s: %q parsed as %v", c.name, c.value, v)
		}
	}
	for _, c := range []struct {
		name  string
		parse func(string) (any, error)
		value string
		want  any
	}{
		{"check path", parseCheckPath, "/healthz?a=1&b=$x;y", "/healthz?a=1&b=$x;y"},
		{"cookie name", parseCookieName, "Bollard_1.a-b!$%&*+^`|~", "Bollard_1.a-b!$%&*+^`|~"},
		{"protocol lower case", parseProtocol, "grpcs", ProtocolH2},
		{"protocol mixed case", parseProtocol, "Https", ProtocolHTTPS},
	} {
		if v, err := c.parse(c.value); err != nil || v != c.want {
			t.Errorf("%s: %q parsed as %v, %v; want %v", c.name, c.value, v, err, c.want)
		}
	}
}
