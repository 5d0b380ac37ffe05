package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/hack/internal/gendoc"
	"github.com/bollard-io/bollard/pkg/model"
)

// TestAnnotationsDocIsCurrent fails when docs/annotations.md differs from
// what model.OptionTable generates: run `make docs`.
func TestAnnotationsDocIsCurrent(t *testing.T) {
	var got bytes.Buffer
	if err := generate(&got); err != nil {
		t.Fatal(err)
	}
	if err := gendoc.Stale(filepath.Join("..", "..", "docs", "annotations.md"), got.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestAnnotationsDocCoversTheTable: every option of the table has its row,
// in the table it belongs to, with as many cells as the header.
func TestAnnotationsDocCoversTheTable(t *testing.T) {
	var b bytes.Buffer
	if err := generate(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	annotations, configMapOnly, ok := strings.Cut(doc, "\n## ConfigMap-only keys\n")
	if !ok {
		t.Fatal("no ConfigMap-only section")
	}
	for _, o := range model.OptionTable() {
		section, prefix := annotations, "| `"+o.Annotation()+"` | "
		if o.Annotation() == "" {
			section, prefix = configMapOnly, "| `"+o.Name+"` | "
		}
		if !strings.Contains(section, "\n"+prefix) {
			t.Errorf("no row for %s", o.Name)
		}
	}
	if !strings.Contains(annotations, "\n| `kubernetes.io/ingress.class` | ") {
		t.Error("no row for kubernetes.io/ingress.class")
	}
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := len(strings.Split(strings.ReplaceAll(line, `\|`, ""), "|")) - 2
		if want := 8; strings.HasPrefix(line, "| `bollard.io/") || strings.HasPrefix(line, "| `kubernetes.io/") || strings.HasPrefix(line, "| annotation ") {
			if cells != want {
				t.Errorf("%d cells, want %d: %s", cells, want, line)
			}
		}
	}
	for _, want := range []string{"Service annotation > ConfigMap key > built-in default", "oldest Ingress", "503", "tune.bufsize 32768", "verify none", "kubernetes.io/tls"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q", want)
		}
	}
}
