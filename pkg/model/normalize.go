package model

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of NormalizePath: HAProxy answers a request whose path has one of
// these with 400, so a route written that way could never match.
var (
	ErrBadEscape    = errors.New("a '%' that is not followed by two hex digits")
	ErrAboveRoot    = errors.New("a \"..\" segment above the root")
	ErrEncodedSlash = errors.New("an encoded slash (%2F)")
)

// NormalizePath returns path in the normal form that the http-request
// normalize-uri rules of templates/haproxy.cfg give a request's path before
// routing: percent-escapes upper-cased and the unreserved ones decoded,
// runs of slashes merged, "." segments removed and ".." segments resolved.
// Routes are keyed by this form so that a route and the requests HAProxy
// normalises meet. An error is a path that HAProxy answers with 400.
// The empty path (an ImplementationSpecific catch-all) stays empty.
func NormalizePath(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	decoded, err := normalizeEscapes(path)
	if err != nil {
		return "", err
	}
	// Without "//" or "/." there is no empty or dot segment to resolve.
	if !strings.HasPrefix(decoded, "/") || !strings.Contains(decoded, "//") && !strings.Contains(decoded, "/.") {
		return decoded, nil
	}
	segments := strings.Split(decoded[1:], "/")
	var out []string
	for i, seg := range segments {
		last := i == len(segments)-1
		switch seg {
		case "":
			if last {
				out = append(out, "") // a trailing slash stays
			}
			// an empty segment inside the path is a merged slash
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", ErrAboveRoot
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

// normalizeEscapes upper-cases every %XX escape, decodes those of
// unreserved characters (RFC 3986: ALPHA DIGIT - . _ ~) and refuses
// malformed escapes and encoded slashes. Decoding cannot create a new
// escape: '%' is not unreserved.
func normalizeEscapes(path string) (string, error) {
	if !strings.Contains(path, "%") {
		return path, nil
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			return "", ErrBadEscape
		}
		v := unhex(path[i+1])<<4 | unhex(path[i+2])
		switch {
		case v == '/':
			return "", ErrEncodedSlash
		case isUnreserved(v):
			b.WriteByte(v)
		default:
			fmt.Fprintf(&b, "%%%02X", v)
		}
		i += 2
	}
	return b.String(), nil
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
