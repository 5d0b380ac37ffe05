package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on what one object may carry. They keep a single Ingress from
// blowing up the config or the maps.
const (
	MaxHostLength       = 253
	MaxPathLength       = 1024
	MaxPathsPerIngress  = 1000
	MaxTLSPerIngress    = 100
	MaxAnnotationLength = 1024
	MaxSecretDataBytes  = 512 << 10
)

// The DNS shapes below are matched by hand, not with regexp: a full build
// checks every name of every Ingress, and the regexps were a sixth of its
// time at 10k Ingresses. TestDNSMatchersAgreeWithRegexps holds them to the
// patterns they replace.

// isDNSLabel reports whether s is a DNS-1123 label of at most max bytes:
// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
func isDNSLabel(s string, max int) bool {
	if len(s) == 0 || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isDNSSubdomain reports whether s is one or more DNS-1123 labels joined
// by dots.
func isDNSSubdomain(s string) bool {
	for {
		label, rest, more := strings.Cut(s, ".")
		if !isDNSLabel(label, 63) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isHostName is a DNS-1123 subdomain with at most a leading "*.".
func isHostName(s string) bool {
	return isDNSSubdomain(strings.TrimPrefix(s, "*."))
}

// validateHost checks a rule or TLS host: a DNS-1123 subdomain with at most
// a leading "*." wildcard, already lower case.
func validateHost(host string) error {
	switch {
	case len(host) > MaxHostLength:
		return fmt.Errorf("host is %d bytes long, the limit is %d", len(host), MaxHostLength)
	case !isHostName(host):
		return fmt.Errorf("host %s is not a lower-case DNS name with at most a leading \"*.\"", printable(host))
	case strings.HasPrefix(host, "*.") && !strings.Contains(host[2:], "."):
		return fmt.Errorf("wildcard host %q must have at least two labels after \"*.\"", host)
	case isIPv4(host):
		return fmt.Errorf("host %q is an IP address; an Ingress host must be a DNS name", host)
	}
	return nil
}

// isIPv4 reports whether host reads as a dotted IPv4 address, leading
// zeros included, as the API server's check reads it.
func isIPv4(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) != 4 {
		return false
	}
	for _, l := range labels {
		n, err := strconv.Atoi(l)
		if err != nil || n > 255 || strings.Trim(l, "0123456789") != "" {
			return false
		}
	}
	return true
}

// validatePath allows only RFC 3986 path characters: unreserved, sub-delims
// without the single quote, ':', '@', '/' and %XX escapes. That leaves out
// whitespace, '#', quotes, backslash, control characters, "%[" and "${".
func validatePath(path string) error {
	if len(path) > MaxPathLength {
		return fmt.Errorf("path is %d bytes long, the limit is %d", len(path), MaxPathLength)
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path %s must start with \"/\"", printable(path))
	}
	switch i, badEscape := badPathByte(path, ""); {
	case i < 0:
		return nil
	case badEscape:
		return fmt.Errorf("path %s has a '%%' that is not followed by two hex digits", printable(path))
	default:
		return fmt.Errorf("path %s has the character %q at byte %d, which is not allowed in a path", printable(path), path[i], i)
	}
}

// badPathByte returns the index of the first byte of s that is neither an
// RFC 3986 path character (unreserved, sub-delims without the single
// quote, ':', '@', '/'), nor one of extra, nor part of a %XX escape, and
// whether it is a malformed escape; -1 when there is none. Ingress paths
// and health-check paths share it.
func badPathByte(s, extra string) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&()*+,;=:@/", c) >= 0, strings.IndexByte(extra, c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return i, true
			}
			i += 2
		default:
			return i, false
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validateServiceName checks a Service name (a DNS-1035 label, accepted
// here as a DNS-1123 label).
func validateServiceName(name string) error {
	if !isDNSLabel(name, 63) {
		return fmt.Errorf("service name %s is not a DNS label", printable(name))
	}
	return nil
}

func validatePortName(name string) error {
	if !isDNSLabel(name, 15) || strings.Trim(name, "0123456789") == "" || strings.Contains(name, "--") {
		return fmt.Errorf("port name %s is not a valid IANA service name", printable(name))
	}
	return nil
}

func validatePortNumber(n int32) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("port %d is out of range 1-65535", n)
	}
	return nil
}

func validateObjectName(name string) error {
	if len(name) > MaxHostLength || !isDNSSubdomain(name) {
		return fmt.Errorf("name %s is not a DNS subdomain", printable(name))
	}
	return nil
}

// validateNamespace checks a namespace (a DNS-1123 label): it goes into
// backend names and certificate file names.
func validateNamespace(namespace string) error {
	if !isDNSLabel(namespace, 63) {
		return fmt.Errorf("namespace %s is not a DNS label", printable(namespace))
	}
	return nil
}

// printable makes a hostile string safe to show in an error: control and
// non-ASCII bytes are escaped and the length is capped.
func printable(s string) string {
	const maxShown = 64
	if len(s) > maxShown {
		return strconv.QuoteToASCII(s[:maxShown]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
