package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Parsers of the route policy options. Values reach HAProxy only through
// maps, URL-encoded (PolicyValue), but are still held to their grammar so
// that what a user sees in a Warning is what HAProxy would have used.

// Limits that bound what one Ingress puts in the maps.
const (
	maxPolicyCIDRs   = 256
	maxPolicyHeaders = 32
	maxHeaderValue   = 1024
	maxPolicyURL     = 2048
	maxPolicyLimit   = 1_000_000
	maxPolicyOrigins = 64
	maxMaxAge        = 10 * 365 * 24 * 3600
)

func parseCIDRList(s string) (any, error) {
	var out []netip.Prefix
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(item)
		if err != nil {
			addr, aerr := netip.ParseAddr(item)
			if aerr != nil || addr.Zone() != "" {
				return nil, fmt.Errorf("item %d, %s, is neither an IP address nor a CIDR such as 10.0.0.0/8 or 2001:db8::/32", i+1, printable(item))
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		if prefix.Addr().Is4In6() {
			// HAProxy sees IPv4 clients as IPv4: a mapped prefix would never match.
			prefix = netip.PrefixFrom(prefix.Addr().Unmap(), max(prefix.Bits()-96, 0))
		}
		out = append(out, prefix.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("value %s lists no address", printable(s))
	}
	if len(out) > maxPolicyCIDRs {
		return nil, fmt.Errorf("value lists %d addresses, the limit is %d", len(out), maxPolicyCIDRs)
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out), nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func parseLimit(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPolicyLimit {
		return nil, fmt.Errorf("value %s is not a whole number between 1 and %d", printable(s), maxPolicyLimit)
	}
	return n, nil
}

func parseMaxAge(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxMaxAge {
		return nil, fmt.Errorf("value %s is not a number of seconds between 0 and %d", printable(s), maxMaxAge)
	}
	return n, nil
}

func parseRedirectCode(s string) (any, error) {
	switch s {
	case "301", "302", "303", "307", "308":
		n, _ := strconv.Atoi(s)
		return n, nil
	}
	return nil, fmt.Errorf("value %s is not one of 301, 302, 303, 307, 308", printable(s))
}

// forbiddenHeaders are set by HAProxy or frame the message: a policy that
// set them could smuggle a request or break routing.
var forbiddenHeaders = []string{
	"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
	"te", "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization", "expect",
	"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
}

// clientCertHeaders carry the verdict on the client certificate
// (templates/haproxy.cfg): only HAProxy sets them.
var clientCertHeaders = []string{"ssl-client-verify", "ssl-client-subject-dn", "ssl-client-issuer-dn", "ssl-client-cert"}

// parseHeaderLines reads "Name: value" lines.
func parseHeaderLines(s string) (any, error) {
	var out []Header
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d, %s, is not \"Name: value\"", i+1, printable(line))
		}
		// The name is a word of haproxy.cfg (the rule that sets it).
		// The name is a word of haproxy.cfg and of a sample expression: the
		// token characters that mean something there are left out.
		if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		}) >= 0 {
			return nil, fmt.Errorf("line %d: header name %s is not 1 to 64 letters, digits, '-', '_' or '.'", i+1, printable(name))
		}
		lower := strings.ToLower(name)
		if slices.Contains(forbiddenHeaders, lower) {
			return nil, fmt.Errorf("line %d: header %s frames or routes the message and cannot be set", i+1, printable(name))
		}
		if slices.Contains(clientCertHeaders, lower) {
			return nil, fmt.Errorf("line %d: header %s carries HAProxy's verdict on the client certificate (auth-tls-secret) and cannot be set", i+1, printable(name))
		}
		value = strings.Trim(value, " \t")
		if value == "" {
			return nil, fmt.Errorf("line %d: header %s has no value", i+1, printable(name))
		}
		if len(value) > maxHeaderValue {
			return nil, fmt.Errorf("line %d: the value is %d bytes long, the limit is %d", i+1, len(value), maxHeaderValue)
		}
		if j := strings.IndexFunc(value, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }); j >= 0 {
			return nil, fmt.Errorf("line %d: the value of %s has a control character at byte %d", i+1, printable(name), j)
		}
		if slices.ContainsFunc(out, func(h Header) bool { return h.Name == lower }) {
			return nil, fmt.Errorf("line %d: header %s is set twice", i+1, printable(name))
		}
		out = append(out, Header{Name: lower, Value: value})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("value %s sets no header", printable(s))
	}
	if len(out) > maxPolicyHeaders {
		return nil, fmt.Errorf("value sets %d headers, the limit is %d", len(out), maxPolicyHeaders)
	}
	slices.SortFunc(out, func(a, b Header) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// parseAbsolutePath takes the characters of an Ingress path, and a query
// when query is set.
func parseAbsolutePath(query bool) func(string) (any, error) {
	return func(s string) (any, error) {
		if len(s) > MaxPathLength || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
			return nil, fmt.Errorf("value %s is not an absolute path (one leading \"/\") of at most %d bytes", printable(s), MaxPathLength)
		}
		extra := ""
		if query {
			extra = "?"
		}
		switch i, badEscape := badPathByte(s, extra); {
		case i < 0:
			return s, nil
		case badEscape:
			return nil, fmt.Errorf("value %s has a malformed percent escape", printable(s))
		default:
			return nil, fmt.Errorf("value %s has the character %q at byte %d, which is not allowed in a path", printable(s), s[i], i)
		}
	}
}

// parseRedirectURL takes an absolute http or https URL without spaces or
// control characters.
func parseRedirectURL(s string) (any, error) {
	bad := fmt.Errorf("value %s is not an absolute http:// or https:// URL of at most %d bytes without spaces", printable(s), maxPolicyURL)
	if len(s) > maxPolicyURL || strings.IndexFunc(s, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) >= 0 {
		return nil, bad
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, bad
	}
	if err := validateHost(u.Hostname()); err != nil {
		if _, aerr := netip.ParseAddr(u.Hostname()); aerr != nil {
			return nil, fmt.Errorf("value %s: the host is not a host name or an IP address", printable(s))
		}
	}
	return s, nil
}

func parseOrigins(s string) (any, error) {
	if strings.TrimSpace(s) == "*" {
		return []string{"*"}, nil
	}
	var out []string
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		// Browsers send the scheme and host in lower case.
		item = strings.ToLower(item)
		u, err := url.Parse(item)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" ||
			u.Fragment != "" || u.User != nil || strings.ContainsAny(item, " \t") || validateHost(u.Hostname()) != nil {
			return nil, fmt.Errorf("item %d, %s, is not an origin such as https://example.com or http://example.com:8080 (or \"*\" alone)", i+1, printable(item))
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("value %s lists no origin", printable(s))
	}
	if len(out) > maxPolicyOrigins {
		return nil, fmt.Errorf("value lists %d origins, the limit is %d", len(out), maxPolicyOrigins)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseTokenList takes a comma-separated list of tokens (methods, header
// names) and returns it as "A, B".
func parseTokenList(s string) (any, error) {
	var out []string
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if len(item) > 64 || strings.IndexFunc(item, func(r rune) bool { return r > 0x7e || !isTokenByte(byte(r)) }) >= 0 {
			return nil, fmt.Errorf("item %d, %s, is not a token (letters, digits and !$%%&*+-.^_`|~)", i+1, printable(item))
		}
		out = append(out, item)
	}
	if len(out) == 0 || len(out) > 64 {
		return nil, fmt.Errorf("value %s is not a list of 1 to 64 comma-separated names", printable(s))
	}
	return strings.Join(out, ", "), nil
}
