package haproxy

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bollard-io/bollard/pkg/render"
)

// WriteFiles writes rendered files under dir, each through a temporary file
// and a rename so that no reader sees a partial file. Files under maps/ and
// certs/ that are not in files are removed.
func WriteFiles(dir string, files []render.File) error {
	keep := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		keep[path] = true
		if err := writeFileAtomic(path, f.Data, f.Mode); err != nil {
			return err
		}
	}
	for _, sub := range []string{"maps", render.CertsDir} {
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

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
