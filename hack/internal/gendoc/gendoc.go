// Package gendoc checks that a generated document in docs/ is current, for
// the tests of the commands that write them (hack/flagsdoc,
// hack/annotationsdoc).
package gendoc

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Stale returns nil when the file at path holds exactly generated, or an
// error that names the first line where they differ and says how to
// regenerate.
func Stale(path string, generated []byte) error {
	want, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: run make docs", err)
	}
	if bytes.Equal(generated, want) {
		return nil
	}
	gl, wl := strings.Split(string(generated), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Errorf("%s is stale (run make docs); first difference at line %d:\n  file:      %q\n  generated: %q", path, i+1, w, g)
		}
	}
	return nil
}
