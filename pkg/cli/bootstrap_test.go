package cli_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/render"
)

// TestBootstrapWritesAConfigHAProxyRuns: `bollard bootstrap --check` writes
// the config of an empty cluster that the real haproxy -c accepts, and a
// real HAProxy started on it answers 404 to any request, /healthz on the
// stats port, and opens its stats socket in the runtime directory.
func TestBootstrapWritesAConfigHAProxyRuns(t *testing.T) {
	binary := haproxytest.Binary(t)
	dir := t.TempDir()
	opts := haproxytest.Options(t, dir)
	opts.RuntimeDir = filepath.Join(dir, "run", "haproxy") // bootstrap must create it
	configDir := filepath.Join(dir, "etc")
	_, stderr, err := run(t, "", "bootstrap", "--config-dir", configDir, "--runtime-dir", opts.RuntimeDir,
		"--bind-address", "127.0.0.1", "--http-port", strconv.Itoa(opts.HTTPPort),
		"--https-port", strconv.Itoa(opts.HTTPSPort), "--stats-port", strconv.Itoa(opts.StatsPort), "--check", "--haproxy-binary", binary)
	if err != nil {
		t.Fatalf("bootstrap --check: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "configuration is valid") {
		t.Errorf("bootstrap --check must report the check:\n%s", stderr)
	}
	if info, err := os.Stat(opts.RuntimeDir); err != nil || !info.IsDir() {
		t.Fatalf("runtime dir not created: %v", err)
	}
	for _, name := range []string{render.ConfigFile, render.HostsMap, render.WildcardsMap, render.ExactPathsMap,
		render.PrefixPathsMap, render.HostDefaultsMap, render.RedirectsMap, render.CrtList, render.DefaultCertPEM} {
		info, err := os.Stat(filepath.Join(configDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == render.DefaultCertPEM && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	cfg, err := os.ReadFile(filepath.Join(configDir, render.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"stats socket " + opts.RuntimeDir + "/" + render.AdminSocket,
		"127.0.0.1:" + strconv.Itoa(opts.HTTPPort),
		"127.0.0.1:" + strconv.Itoa(opts.HTTPSPort),
	} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, cfg)
		}
	}
	// The real haproxy -c, independently of --check.
	haproxytest.Check(t, configDir)

	// A real HAProxy on the bootstrap files.
	inst := haproxytest.Start(t, configDir, readDir(t, configDir), opts)
	for _, host := range []string{"anything.example", "localhost"} {
		if got := haproxytest.Get(t, inst.HTTP, host, "/"); got.Status != http.StatusNotFound {
			t.Errorf("Host %s: status %d, want 404 from the empty config", host, got.Status)
		}
	}
	stats := "http://127.0.0.1:" + strconv.Itoa(opts.StatsPort)
	if got := haproxytest.Get(t, stats, "localhost", "/healthz"); got.Status != http.StatusOK {
		t.Errorf("stats /healthz: status %d, want 200", got.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(opts.RuntimeDir, render.AdminSocket)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("HAProxy did not open its stats socket: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBootstrapFailures(t *testing.T) {
	dir := t.TempDir()
	base := []string{"bootstrap", "--config-dir", filepath.Join(dir, "etc"), "--runtime-dir", filepath.Join(dir, "run")}
	// A failing haproxy -c is an error with HAProxy's message.
	_, _, err := run(t, "", append(base, "--check", "--haproxy-binary", "/bin/false")...)
	if err == nil || !strings.Contains(err.Error(), "haproxy -c rejected the config") {
		t.Errorf("a failing check must be an error, got %v", err)
	}
	// Bad render flags are refused before anything is written.
	for _, args := range [][]string{
		{"--http-port", "0"},
		{"--runtime-dir", "relative/run"},
		{"--bind-address", "not-an-ip"},
	} {
		out := filepath.Join(dir, "bad")
		_, _, err := run(t, "", append([]string{"bootstrap", "--config-dir", out, "--runtime-dir", filepath.Join(dir, "run")}, args...)...)
		if err == nil {
			t.Errorf("bootstrap %v: want an error", args)
		}
		if _, statErr := os.Stat(filepath.Join(out, render.ConfigFile)); statErr == nil {
			t.Errorf("bootstrap %v wrote a config", args)
		}
	}
	if _, _, err := run(t, "", "bootstrap", "--config-dir", dir, "extra"); err == nil {
		t.Errorf("bootstrap must refuse arguments")
	}
}
