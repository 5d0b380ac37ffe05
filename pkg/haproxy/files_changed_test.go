package haproxy

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bollard-io/bollard/pkg/render"
)

// TestWriteChangedFiles: files equal to what the dir holds stay as they
// are (same inode), changed ones are swapped in, stale maps are removed.
func TestWriteChangedFiles(t *testing.T) {
	dir := t.TempDir()
	prev := []render.File{
		{Path: "haproxy.cfg", Data: []byte("old cfg\n"), Mode: 0o644},
		{Path: "maps/hosts.map", Data: []byte("a.example a\n"), Mode: 0o644},
		{Path: "maps/stale.map", Data: []byte("x y\n"), Mode: 0o644},
	}
	if err := WriteFiles(dir, prev); err != nil {
		t.Fatal(err)
	}
	inode := func(rel string) uint64 {
		t.Helper()
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	hostsBefore, cfgBefore := inode("maps/hosts.map"), inode("haproxy.cfg")
	next := []render.File{
		{Path: "haproxy.cfg", Data: []byte("new cfg\n"), Mode: 0o644},
		{Path: "maps/hosts.map", Data: []byte("a.example a\n"), Mode: 0o644},
	}
	if err := WriteChangedFiles(dir, next, prev); err != nil {
		t.Fatal(err)
	}
	if inode("maps/hosts.map") != hostsBefore {
		t.Error("an unchanged file was written again")
	}
	if inode("haproxy.cfg") == cfgBefore {
		t.Error("the changed file was not swapped in")
	}
	if !SameFiles(dir, next) {
		t.Error("the dir does not hold exactly the new files")
	}
}
