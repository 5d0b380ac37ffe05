package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The parsers of option values. Each returns the value in its Go type, or
// an error that explains the expected form; the error never repeats an
// unprintable value as is.

func parseBool(s string) (any, error) {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return nil, fmt.Errorf("value %s is not a boolean (true or false)", printable(s))
	}
	return v, nil
}

func parseDuration(s string) (any, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < minTimeout || d > maxTimeout || d%time.Millisecond != 0 {
		return nil, fmt.Errorf("value %s is not a duration between 1ms and 24h in whole milliseconds (such as 30s)", printable(s))
	}
	return d, nil
}

func parseEnum(values ...string) func(string) (any, error) {
	return func(s string) (any, error) {
		for _, v := range values {
			if s == v {
				return v, nil
			}
		}
		return nil, fmt.Errorf("value %s is not one of %s", printable(s), strings.Join(values, ", "))
	}
}

func parseProtocol(s string) (any, error) {
	upper := s
	if strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 }) < 0 {
		// Only ASCII is upper-cased: Unicode folds "ſ" to "S".
		upper = strings.ToUpper(s)
	}
	switch upper {
	case "HTTP":
		return ProtocolHTTP, nil
	case "HTTPS":
		return ProtocolHTTPS, nil
	case "H2C", "GRPC":
		return ProtocolH2C, nil
	case "H2", "GRPCS":
		return ProtocolH2, nil
	}
	return nil, fmt.Errorf("value %s is not one of HTTP, HTTPS, H2C, H2, GRPC, GRPCS", printable(s))
}

func parseSecretName(s string) (any, error) {
	if err := validateObjectName(s); err != nil {
		return nil, fmt.Errorf("value is not a Secret name: %w", err)
	}
	return s, nil
}

func parseSNI(s string) (any, error) {
	if s == SNIFromRequest {
		return s, nil
	}
	if err := validateHost(s); err != nil || strings.HasPrefix(s, "*.") {
		return nil, fmt.Errorf("value %s is neither a host name nor %q", printable(s), SNIFromRequest)
	}
	return s, nil
}

// maxCheckPath keeps the check request short; HAProxy sends it as is.
const maxCheckPath = 256

func parseCheckPath(s string) (any, error) {
	if len(s) > maxCheckPath || !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("value %s is not an absolute path of at most %d bytes", printable(s), maxCheckPath)
	}
	// The characters of an Ingress path, and '?' for a query.
	switch i, badEscape := badPathByte(s, "?"); {
	case i < 0:
		return s, nil
	case badEscape:
		return nil, fmt.Errorf("value %s has a malformed percent escape", printable(s))
	default:
		return nil, fmt.Errorf("value %s has a character that is not allowed in a check path (only letters, digits and -._~!$&()*+,;=:@/?%%)", printable(s))
	}
}

// maxCookieName bounds the cookie name, which every response may carry.
const maxCookieName = 64

func parseCookieName(s string) (any, error) {
	if s == "" || len(s) > maxCookieName {
		return nil, fmt.Errorf("value %s is not a cookie name of 1 to %d bytes", printable(s), maxCookieName)
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return nil, fmt.Errorf("value %s is not a cookie name (letters, digits and !$%%&*+-.^_`|~)", printable(s))
		}
	}
	return s, nil
}

// isTokenByte reports whether c is a tchar of RFC 7230 (the token of RFC
// 6265's cookie-name) that HAProxy reads as is in an unquoted word: '#'
// starts a comment anywhere on a haproxy.cfg line (`cookie a#b insert`
// would silently become `cookie a`) and the single quote opens a quoted
// string (the line fails haproxy -c), so both are left out.
func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!$%&*+-.^_`|~", c) >= 0
}

// maxBodySize is HAProxy's largest integer sample that fits: sizes above
// it would wrap.
const maxBodySize = 1 << 50

func parseSize(s string) (any, error) {
	bad := fmt.Errorf("value %s is not a size (bytes, or a number with k, m or g, such as 8m; 0 is unlimited)", printable(s))
	if s == "" || len(s) > 20 {
		return nil, bad
	}
	unit := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		unit, num = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		unit, num = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		unit, num = 1<<30, s[:len(s)-1]
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return nil, bad
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > maxBodySize/unit {
		return nil, fmt.Errorf("value %s is larger than %d bytes", printable(s), int64(maxBodySize))
	}
	return n * unit, nil
}
