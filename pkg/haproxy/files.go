package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bollard-io/bollard/pkg/render"
)

// WriteFiles swaps rendered files into dir. Every file is first written to
// a temporary file beside its target; only when all of them are written
// are they renamed into place, so a full disk or an unwritable directory
// leaves the previous files untouched. There is no fsync: the files are
// rendered again from the cluster at every start, so they need to survive
// a crash of this process (which rename gives) but not of the machine, and
// an fsync per file cost milliseconds on every endpoint change. Files under
// render.FileDirs that are not in files are removed afterwards.
func WriteFiles(dir string, files []render.File) error {
	return WriteChangedFiles(dir, files, nil)
}

// WriteChangedFiles is WriteFiles for a dir known to hold prev: a file with
// the same path, mode and bytes in prev is left as it is. On an endpoint
// change only haproxy.cfg differs, and staging every map and certificate
// again was a quarter of the controller's CPU (pprof, hack/bench P1).
func WriteChangedFiles(dir string, files, prev []render.File) error {
	old := make(map[string]render.File, len(prev))
	for _, f := range prev {
		old[f.Path] = f
	}
	type staged struct{ tmp, path string }
	var ready []staged
	cleanup := func() {
		for _, s := range ready {
			os.Remove(s.tmp)
		}
	}
	keep := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		keep[path] = true
		if p, ok := old[f.Path]; ok && p.Mode == f.Mode && bytes.Equal(p.Data, f.Data) {
			continue
		}
		tmp, err := writeTemp(path, f.Data, f.Mode)
		if err != nil {
			cleanup()
			return err
		}
		ready = append(ready, staged{tmp: tmp, path: path})
	}
	for i, s := range ready {
		if err := os.Rename(s.tmp, s.path); err != nil {
			for _, rest := range ready[i:] {
				os.Remove(rest.tmp)
			}
			return fmt.Errorf("swap in %s: %w", s.path, err)
		}
	}
	for _, sub := range render.FileDirs() {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, sub, e.Name())
			if !e.IsDir() && !keep[path] {
				if err := os.Remove(path); err != nil {
					return fmt.Errorf("remove stale %s: %w", path, err)
				}
			}
		}
	}
	return nil
}

// maxTempBase is the most of a target's name a temporary name repeats.
const maxTempBase = 200

func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	// A file name may have 255 bytes: the prefix is cut so that the
	// dot, the suffix and CreateTemp's random digits always fit.
	base := filepath.Base(path)
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return tmp.Name(), nil
}

// SameFiles reports whether dir already holds exactly files (same bytes,
// and no other file under render.FileDirs).
func SameFiles(dir string, files []render.File) bool {
	want := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		want[path] = true
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(data, f.Data) {
			return false
		}
	}
	for _, sub := range render.FileDirs() {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
		for _, e := range entries {
			if !e.IsDir() && !want[filepath.Join(dir, sub, e.Name())] && e.Name()[0] != '.' {
				return false
			}
		}
	}
	return true
}
