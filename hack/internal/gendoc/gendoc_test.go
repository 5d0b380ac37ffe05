package gendoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Stale(path, []byte("a\nb\nc\n")); err != nil {
		t.Errorf("identical: %v", err)
	}
	err := Stale(path, []byte("a\nB\nc\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a changed line: %v", err)
	}
	if err := Stale(path, []byte("a\nb\nc\nd\n")); err == nil {
		t.Error("an added line was not reported")
	}
	if err := Stale(filepath.Join(t.TempDir(), "none.md"), nil); err == nil {
		t.Error("a missing file was not reported")
	}
}
