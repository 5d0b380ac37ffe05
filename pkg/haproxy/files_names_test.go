package haproxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/render"
)

// A target name near the 255-byte limit still gets a temporary name that
// fits, and no temporary file is left behind.
func TestWriteFilesLongName(t *testing.T) {
	dir := t.TempDir()
	name := render.CertsDir + "/" + strings.Repeat("x", 251) + ".pem"
	files := []render.File{{Path: name, Mode: render.SecretMode, Data: []byte("data")}}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil || string(got) != "data" {
		t.Fatalf("read back %q, %v", got, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, render.CertsDir))
	if err != nil || len(entries) != 1 {
		t.Fatalf("want only the target in certs/, got %v, %v", entries, err)
	}
}
