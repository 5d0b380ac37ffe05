package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/hack/internal/gendoc"
)

// TestFlagsDocIsCurrent fails when docs/flags.md differs from what the
// cobra commands generate: run `make docs`.
func TestFlagsDocIsCurrent(t *testing.T) {
	var got bytes.Buffer
	if err := generate(&got); err != nil {
		t.Fatal(err)
	}
	if err := gendoc.Stale(filepath.Join("..", "..", "docs", "flags.md"), got.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestFlagsDocCoversTheSpec: the generated document lists every command and
// the flags the deployment relies on, with stable defaults.
func TestFlagsDocCoversTheSpec(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "somewhere-else")
	var b bytes.Buffer
	if err := generate(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{
		"## bollard bootstrap", "## bollard controller", "## bollard render", "## bollard version",
		"| `--haproxy-mode` | string | `managed` |", "| `--config-dir` | string | `/etc/haproxy` |",
		"| `--election-namespace` | string | see usage |", "| `--election-identity` | string | see usage |",
		"| `-f`, `--filename` |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q", want)
		}
	}
	if host, err := os.Hostname(); err == nil && host != "" && strings.Contains(doc, "`"+host+"`") {
		t.Errorf("the document carries this machine's host name %q", host)
	}
	if strings.Contains(doc, "somewhere-else") {
		t.Errorf("the document depends on $POD_NAMESPACE")
	}
}
