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

// A file left in any directory the renderer writes (maps, certificates,
// CA bundles) by an earlier render is removed, and SameFiles sees it.
func TestStaleFilesInEveryRenderedDir(t *testing.T) {
	for _, sub := range render.FileDirs() {
		t.Run(sub, func(t *testing.T) {
			dir := t.TempDir()
			keep := []render.File{{Path: "haproxy.cfg", Data: []byte("cfg\n"), Mode: 0o644}}
			stale := append(keep, render.File{Path: sub + "/gone.pem", Data: []byte("x\n"), Mode: 0o644})
			if err := WriteFiles(dir, stale); err != nil {
				t.Fatal(err)
			}
			if SameFiles(dir, keep) {
				t.Errorf("SameFiles missed the stale %s/gone.pem", sub)
			}
			if err := WriteFiles(dir, keep); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, sub, "gone.pem")); !os.IsNotExist(err) {
				t.Errorf("%s/gone.pem was not removed: %v", sub, err)
			}
			if !SameFiles(dir, keep) {
				t.Error("the dir does not hold exactly the new files")
			}
		})
	}
}
