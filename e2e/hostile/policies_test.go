package hostile

import "strings"

// The reasons of the route policy parsers, as the model words them.
const (
	reasonCIDR       = "is neither an IP address nor a CIDR"
	reasonLimit      = "is not a whole number between 1 and 1000000"
	reasonHeaderLine = `is not "Name: value"`
	reasonHeaderName = "is not 1 to 64 letters, digits"
	reasonFraming    = "frames or routes the message and cannot be set"
	reasonControl    = "has a control character"
	reasonURL        = "is not an absolute http:// or https:// URL"
	reasonOrigin     = "is not an origin"
	reasonToken      = "is not a token"
	reasonSeconds    = "is not a number of seconds"
	reasonBool       = "is not a boolean"
	reasonRedirect   = "is not one of 301, 302, 303, 307, 308"
	reasonAbsolute   = "is not an absolute path"
	reasonPathByte   = "which is not allowed in a path"
)

// policyCases are hostile values of the route policy options. Values that
// HAProxy reads per request reach a map URL-encoded, so a quote or a '#'
// inside a header value is not an attack there (TestPoliciesThroughHAProxy
// in pkg/render proves it is delivered verbatim); these are the values the
// grammar of each option refuses.
func policyCases() []optCase {
	var cases []optCase
	add := func(class, name, option, value, reason string) {
		cases = append(cases, optCase{class: class, name: "pol-" + name, option: option, value: value, reason: reason})
	}
	for _, c := range []struct{ name, option, value, reason string }{
		{"cidr-lf", "allow-list", "10.0.0.0/8\n  http-request deny", reasonCIDR},
		{"cidr-fetch", "allow-list", "%[src]", reasonCIDR},
		{"cidr-env", "deny-list", "${HOME}", reasonCIDR},
		{"cidr-bits", "allow-list", "10.0.0.0/33", reasonCIDR},
		{"cidr-semicolon", "deny-list", "10.0.0.0/8;1.2.3.4", reasonCIDR},
		{"cidr-word", "allow-list", "any", reasonCIDR},
		{"cidr-fullwidth", "allow-list", "\uff11\uff10.0.0.0/8", reasonCIDR},
		{"cidr-zone", "deny-list", "fe80::1%eth0", reasonCIDR},
		{"cidr-hash", "allow-list", "10.0.0.0/8#x", reasonCIDR},
	} {
		add("policy: allow-list and deny-list", c.name, c.option, c.value, c.reason)
	}
	for _, c := range []struct{ name, option, value string }{
		{"rps-zero", "limit-rps", "0"}, {"rps-negative", "limit-rps", "-1"}, {"rps-exp", "limit-rps", "1e3"},
		{"rps-over", "limit-rps", "1000001"}, {"rps-lf", "limit-rps", "10\n"}, {"rps-fetch", "limit-rps", "%[env(X)]"},
		{"conn-zero", "limit-connections", "0"}, {"conn-overflow", "limit-connections", "99999999999999999999"}, {"conn-hex", "limit-connections", "0x10"},
	} {
		add("policy: limits", c.name, c.option, c.value, reasonLimit)
	}
	for _, c := range []struct{ name, option, value, reason string }{
		{"hdr-host", "request-set-headers", "Host: evil.example", reasonFraming},
		{"hdr-te", "request-set-headers", "Transfer-Encoding: chunked", reasonFraming},
		{"hdr-cl", "request-set-headers", "content-length: 0", reasonFraming},
		{"hdr-xff", "request-set-headers", "X-Forwarded-For: 1.2.3.4", reasonFraming},
		{"hdr-connection", "response-set-headers", "Connection: close", reasonFraming},
		{"hdr-nul", "request-set-headers", "X-A: a\x00b", reasonControl},
		{"hdr-cr", "response-set-headers", "X-A: a\rb", reasonControl},
		{"hdr-name-space", "request-set-headers", "X A: v", reasonHeaderName},
		{"hdr-name-hash", "request-set-headers", "X#A: v", reasonHeaderName},
		{"hdr-name-fetch", "response-set-headers", "X-%[env(HOME)]: v", reasonHeaderName},
		{"hdr-name-env", "response-set-headers", "X-${HOME}: v", reasonHeaderName},
		{"hdr-no-colon", "request-set-headers", "X-A", reasonHeaderLine},
		{"hdr-rule", "request-set-headers", "X-A: v\n  http-request deny", reasonHeaderLine},
		{"hdr-empty", "response-set-headers", "X-A:", "has no value"},
		{"hdr-twice", "request-set-headers", "X-A: 1\nx-a: 2", "is set twice"},
		{"hdr-value-long", "request-set-headers", "X-A: " + strings.Repeat("v", 1025), "the limit is 1024"},
		{"hdr-name-lookalike", "request-set-headers", "X-\u0410: v", reasonHeaderName},
	} {
		add("policy: request and response headers", c.name, c.option, c.value, c.reason)
	}
	for _, c := range []struct{ name, option, value, reason string }{
		{"rewrite-relative", "rewrite-target", "api", reasonAbsolute},
		{"rewrite-scheme-relative", "rewrite-target", "//evil.example/x", reasonAbsolute},
		{"rewrite-space", "rewrite-target", "/a b", reasonPathByte},
		{"rewrite-fetch", "rewrite-target", "/%[env(HOME)]", "malformed percent escape"},
		{"rewrite-env", "rewrite-target", "/${HOME}", reasonPathByte},
		{"rewrite-lf", "rewrite-target", "/a\r\nX: y", reasonPathByte},
		{"approot-hash", "app-root", "/a#b", reasonPathByte},
		{"approot-url", "app-root", "https://evil.example/", reasonAbsolute},
		{"redirect-js", "permanent-redirect", "javascript:alert(1)", reasonURL},
		{"redirect-relative", "permanent-redirect", "/relative", reasonURL},
		{"redirect-crlf", "permanent-redirect", "https://a.example/\r\nSet-Cookie: x=1", reasonURL},
		{"redirect-space-host", "temporal-redirect", "https://a b.example/", reasonURL},
		{"redirect-userinfo", "temporal-redirect", "https://user:pw@a.example/", reasonURL},
		{"redirect-unicode", "temporal-redirect", "https://a.example/caf\u00e9", reasonURL},
		{"redirect-ftp", "temporal-redirect", "ftp://a.example/", reasonURL},
		{"redirect-code-300", "permanent-redirect-code", "300", reasonRedirect},
		{"redirect-code-space", "permanent-redirect-code", "301 ", reasonRedirect},
	} {
		add("policy: rewrites and redirects", c.name, c.option, c.value, c.reason)
	}
	for _, c := range []struct{ name, option, value, reason string }{
		{"cors-enable-yes", "cors-enable", "yes", reasonBool},
		{"cors-origin-path", "cors-allow-origin", "https://a.example/path", reasonOrigin},
		{"cors-origin-null", "cors-allow-origin", "null", reasonOrigin},
		{"cors-origin-mixed", "cors-allow-origin", "https://a.example, *", reasonOrigin},
		{"cors-origin-lf", "cors-allow-origin", "https://a.example\nhttp-request deny", reasonOrigin},
		{"cors-methods-semicolon", "cors-allow-methods", "GET;POST", reasonToken},
		{"cors-methods-space", "cors-allow-methods", "GET POST", reasonToken},
		{"cors-headers-colon", "cors-allow-headers", "X-A:1", reasonToken},
		{"cors-max-age-negative", "cors-max-age", "-1", reasonSeconds},
		{"cors-max-age-unit", "cors-max-age", "1s", reasonSeconds},
		{"hsts-yes", "hsts", "yes", reasonBool},
		{"hsts-max-age-year", "hsts-max-age", "1y", reasonSeconds},
		{"hsts-preload-on", "hsts-preload", "on", reasonBool},
	} {
		add("policy: CORS and HSTS", c.name, c.option, c.value, c.reason)
	}
	for _, c := range []struct{ name, option, value, reason string }{
		{"auth-type-digest", "auth-type", "digest", `is not "basic"`},
		{"auth-type-upper", "auth-type", "Basic", `is not "basic"`},
		{"auth-type-lf", "auth-type", "basic\n  http-request deny", `is not "basic"`},
		{"auth-secret-path", "auth-secret", "../users", "is not a Secret name"},
		{"auth-secret-env", "auth-secret", "${HOME}", "is not a Secret name"},
		{"auth-realm-quote", "auth-realm", `a"b`, "a realm is printable ASCII"},
		{"auth-realm-fetch", "auth-realm", "%[env(HOME)]", "a realm is printable ASCII"},
		{"auth-realm-env", "auth-realm", "${HOME}", "a realm is printable ASCII"},
		{"auth-realm-hash", "auth-realm", "a#b", "a realm is printable ASCII"},
		{"auth-realm-lf", "auth-realm", "a\nb", "a realm is printable ASCII"},
		{"auth-realm-long", "auth-realm", strings.Repeat("r", 65), "is not 1 to 64 characters"},
		{"tls-secret-path", "auth-tls-secret", "../ca", "is not a Secret name"},
		{"tls-secret-fetch", "auth-tls-secret", "%[env(HOME)]", "is not a Secret name"},
		{"tls-verify-upper", "auth-tls-verify-client", "On", "is not one of on, optional, off"},
		{"tls-verify-word", "auth-tls-verify-client", "required", "is not one of on, optional, off"},
	} {
		add("policy: basic auth and client certificates", c.name, c.option, c.value, c.reason)
	}
	return cases
}
