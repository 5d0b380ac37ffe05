package model

import (
	"fmt"
	"strings"
)

// User strings of HTTPRoutes reach haproxy.cfg as ACL patterns and
// header values, written in double quotes by the renderer. These checks
// keep every character that could end the quotes, start a variable
// (`"${X}"`) or escape one out of them; what they refuse is left out,
// with a condition and a Warning that name the field.

// checkHeaderName allows an HTTP token (RFC 9110 tchar), less four.
func checkHeaderName(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("header name must be 1-256 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		// An HTTP token without '#', '$', '%' and '\'': HAProxy's config
		// reads them as a comment, a variable, a format or a quote.
		if !(isAlnum(c) || strings.IndexByte("!&*+-.^_`|~", c) >= 0) {
			return fmt.Errorf("header name %s has a character outside [A-Za-z0-9!&*+-.^_`|~]", printable(s))
		}
	}
	return nil
}

// checkQuotable allows visible ASCII and spaces, except the characters
// that end or expand a double-quoted HAProxy word.
func checkQuotable(what, s string, max int) error {
	if s == "" {
		// An empty word ends HAProxy's argument list.
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > max {
		return fmt.Errorf("%s is longer than %d characters", what, max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '"' || c == '\\' || c == '$' {
			return fmt.Errorf("%s %s has a character Bollard does not accept (control, non-ASCII, '\"', '\\' or '$')", what, printable(s))
		}
	}
	return nil
}

// checkParamName allows the characters of a query parameter name that
// url_param(NAME) can take.
func checkParamName(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("query parameter name must be 1-256 characters")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || strings.IndexByte("-._~", c) >= 0) {
			return fmt.Errorf("query parameter name %s has a character outside [A-Za-z0-9-._~]", printable(s))
		}
	}
	return nil
}

// checkRoutePath allows an absolute path of unreserved characters,
// sub-delims (but ';' and quotes), ':', '@' and percent escapes.
func checkRoutePath(s string) error {
	if !strings.HasPrefix(s, "/") || len(s) > 1024 {
		return fmt.Errorf("path %s must start with '/' and be at most 1024 characters", printable(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte("/-._~!&()*+,=:@%", c) >= 0) {
			return fmt.Errorf("path %s has a character Bollard does not accept", printable(s))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var httpMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

// checkGatewayHost allows a listener or route hostname: a DNS name with
// at most a leading "*." (the Gateway API allows "*.com"), not an IP.
func checkGatewayHost(h string) error {
	switch {
	case len(h) > MaxHostLength:
		return fmt.Errorf("hostname is %d bytes long, the limit is %d", len(h), MaxHostLength)
	case !isHostName(h) || h == "*":
		return fmt.Errorf("hostname %s is not a DNS name with at most a leading \"*.\"", printable(h))
	case isIPv4(h):
		return fmt.Errorf("hostname %q is an IP address", h)
	}
	return nil
}

// routeHostKey lower-cases a route or listener hostname; "" is any.
func routeHostKey(h string) string {
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// hostMatches reports whether wildcard or exact pattern p covers host h
// (h itself may be a wildcard: "*.a.b" is covered by "*.b").
func hostMatches(p, h string) bool {
	if p == h {
		return true
	}
	if suffix, ok := strings.CutPrefix(p, "*"); ok {
		return strings.HasSuffix(h, suffix) && len(strings.TrimPrefix(h, "*")) > len(suffix)
	}
	return false
}

// intersectHosts returns the hostnames a route serves on a listener: the
// route's hostnames that the listener's covers, or the listener's where a
// route wildcard covers it. ok is false when they share none.
func intersectHosts(listenerHost string, routeHosts []string) ([]string, bool) {
	if len(routeHosts) == 0 {
		return []string{listenerHost}, true
	}
	if listenerHost == "" {
		return routeHosts, true
	}
	var out []string
	for _, h := range routeHosts {
		switch {
		case hostMatches(listenerHost, h):
			out = append(out, h)
		case hostMatches(h, listenerHost):
			out = append(out, listenerHost)
		}
	}
	return out, len(out) > 0
}
