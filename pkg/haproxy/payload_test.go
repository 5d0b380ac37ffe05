package haproxy

import (
	"path/filepath"
	"testing"
)

// HAProxy 2.6 reads a command line that ends in "<<" as the start of a
// payload, even when the "<<" is glued to an argument: the lines after it,
// up to an empty line, are swallowed and never run as commands. This is
// the control for escapeArg refusing a trailing "<<" (found by
// FuzzCommand's property; the corpus file payload-pattern-at-end-of-line).
func TestPayloadPatternSwallowsCommands(t *testing.T) {
	p := startProxy(t)
	rawCommand(t, filepath.Join(p.run, "admin.sock"),
		"add map maps/hosts.map k1 v<<\nadd map maps/hosts.map k2 v\n")
	out := p.query("show map maps/hosts.map")
	if mapHas(out, "k2", "v") {
		t.Fatalf("control failed: the line after a trailing \"<<\" ran as a command:\n%s", out)
	}
	if _, err := AddMap("maps/hosts.map", "k1", "v<<"); err == nil {
		t.Fatal("AddMap accepted a value ending in \"<<\"")
	}
}
