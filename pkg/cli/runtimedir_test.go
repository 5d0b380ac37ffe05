package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureRuntimeDir(t *testing.T) {
	base := t.TempDir()

	// A new directory, parents included, gets mode 0700 whatever the umask.
	dir := filepath.Join(base, "new", "run")
	if err := ensureRuntimeDir(dir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("want a directory with mode 0700, got %v %v", info, err)
	}

	// An existing directory keeps its mode (a sidecar or an emptyDir chose it).
	existing := filepath.Join(base, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o751); err != nil {
		t.Fatal(err)
	}
	if err := ensureRuntimeDir(existing); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(existing); err != nil || info.Mode().Perm() != 0o751 {
		t.Errorf("an existing directory's mode must stay 0751, got %v %v", info.Mode().Perm(), err)
	}

	// A file in the way, or under the path, is a clear error.
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, filepath.Join(file, "run")} {
		err := ensureRuntimeDir(p)
		if err == nil || !strings.Contains(err.Error(), "--runtime-dir") || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%s: want a not-a-directory error naming --runtime-dir, got %v", p, err)
		}
	}
	if err := ensureRuntimeDir("relative/run"); err == nil {
		t.Errorf("a relative --runtime-dir must be refused")
	}
	if _, err := os.Stat("relative"); !os.IsNotExist(err) {
		t.Errorf("a relative --runtime-dir was created")
	}
}
