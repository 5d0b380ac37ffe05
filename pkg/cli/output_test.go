package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/render"
)

// TestWriteOutputStaysInside feeds crafted file lists, which the model and
// the renderer never produce, to the --output-dir writer: each is refused
// before anything is written, inside or outside the directory.
func TestWriteOutputStaysInside(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../escaped.pem", "certs/../../escaped.pem", "/etc/escaped.pem", "", ".", "certs/..", "../../../../../../tmp/escaped.pem", "link/escaped.pem", "link/new/escaped.pem"} {
		t.Run(bad, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			files := []render.File{{Path: render.ConfigFile, Mode: 0o644, Data: []byte("global\n")}, {Path: bad, Mode: 0o600, Data: []byte("key")}}
			err := writeOutput(dir, files)
			if err == nil || !strings.Contains(err.Error(), "refusing to write") {
				t.Fatalf("want a refusal, got %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, render.ConfigFile)); !os.IsNotExist(err) {
				t.Errorf("nothing may be written when one path is refused: %v", err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written outside the output dir: %v", entries)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped.pem")); !os.IsNotExist(err) {
				t.Errorf("written next to the output dir: %v", err)
			}
		})
	}

	// Paths that stay inside are written, into a directory that does not
	// exist yet.
	dir := filepath.Join(t.TempDir(), "new", "out")
	files := []render.File{{Path: render.ConfigFile, Mode: 0o644, Data: []byte("global\n")}, {Path: "certs/a/../b.pem", Mode: 0o600, Data: []byte("key")}}
	if err := writeOutput(dir, files); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "certs", "b.pem")); err != nil || string(data) != "key" {
		t.Errorf("certs/b.pem: %q %v", data, err)
	}
}
