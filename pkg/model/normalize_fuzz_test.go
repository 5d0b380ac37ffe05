package model

import (
	"strings"
	"testing"
)

// FuzzNormalizePath: the normal form of an allowed path is itself allowed
// (it reaches the maps), no longer, absolute, and stays as it is when
// normalised again.
func FuzzNormalizePath(f *testing.F) {
	for _, seed := range []string{"/", "//a/./b/../c", "/%61%2e%2E/x", "/a/%7e/..", "/%3a//.", "/x/../../y", "/a%2fb", "/%zz"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if validatePath(path) != nil {
			return
		}
		n, err := NormalizePath(path)
		if err != nil {
			return
		}
		if err := validatePath(n); err != nil {
			t.Fatalf("NormalizePath(%q) = %q, which validatePath refuses: %v", path, n, err)
		}
		if len(n) > len(path) || !strings.HasPrefix(n, "/") {
			t.Fatalf("NormalizePath(%q) = %q: longer or not absolute", path, n)
		}
		if again, err := NormalizePath(n); err != nil || again != n {
			t.Fatalf("NormalizePath(%q) = %q, %v; want the normal form %q unchanged", n, again, err, n)
		}
	})
}
