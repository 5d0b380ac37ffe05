package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// fakeHAProxy writes a script that prints version's `haproxy -v` line.
func fakeHAProxy(t *testing.T, dir, version string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "haproxy")
	script := "#!/bin/sh\necho 'HAProxy version " + version + " 2026/10/14 - https://haproxy.org/'\necho 'Status: long-term supported branch'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSplitList(t *testing.T) {
	got := SplitList(" 2.6 3.4,/opt/haproxy, ,\t3.0 ")
	if want := []string{"2.6", "3.4", "/opt/haproxy", "3.0"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := SplitList(""); len(got) != 0 {
		t.Errorf("empty list: %q", got)
	}
}

func TestProbeHAProxy(t *testing.T) {
	dir := t.TempDir()
	h, err := ProbeHAProxy(fakeHAProxy(t, filepath.Join(dir, "3.4"), "3.4.7-1"))
	if err != nil || h.Version.Raw != "3.4.7-1" || h.Version.Line() != "3.4" || !h.Features().RuntimeBackends || !filepath.IsAbs(h.Path) {
		t.Errorf("3.4: %+v, %v", h, err)
	}
	if got, want := h.String(), "HAProxy 3.4.7-1 ("+h.Path+")"; got != want {
		t.Errorf("String: %q, want %q", got, want)
	}
	if _, err := ProbeHAProxy(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing binary must be an error")
	}
}

func TestResolveHAProxy(t *testing.T) {
	dir := t.TempDir()
	main, err := ProbeHAProxy(fakeHAProxy(t, filepath.Join(dir, "system"), "2.6.12-1+deb12u4"))
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	cached := fakeHAProxy(t, filepath.Join(cache, "3.4"), "3.4.7-1")
	for _, c := range []struct{ entry, want, err string }{
		{"2.6", main.Path, ""},                 // the main binary's line: the main binary
		{"3.4", cached, ""},                    // installed by fetch.sh
		{"/some/haproxy", "/some/haproxy", ""}, // a path as it is
		{"3.2", "", "hack/haproxy/fetch.sh 3.2 installs it"},
		{"3.4.7", "", "neither a release line"},
		{"latest", "", "neither a release line"},
	} {
		got, err := ResolveHAProxy(c.entry, main, cache)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: got %q, %v; want %q, error with %q", c.entry, got, err, c.want, c.err)
		}
	}
}

func TestP2bTarget(t *testing.T) {
	v26, _ := haproxy.ParseVersion("2.6.12")
	v34, _ := haproxy.ParseVersion("3.4.7-1")
	f26, f34 := haproxy.FeaturesFor(v26), haproxy.FeaturesFor(v34)
	for _, c := range []struct {
		f       haproxy.Features
		scale   bool
		p99     time.Duration
		reloads int
		target  string
		met     bool
	}{
		{f34, true, 200 * time.Millisecond, 0, "p99 ≤ 250 ms, 0 reloads", true},
		{f34, true, 200 * time.Millisecond, 1, "p99 ≤ 250 ms, 0 reloads", false},
		{f34, true, 300 * time.Millisecond, 0, "p99 ≤ 250 ms, 0 reloads", false},
		{f34, false, time.Second, 3, "p99 ≤ 3s", true},
		{f26, true, 2 * time.Second, 20, "p99 ≤ 3s", true},
		{f26, true, 4 * time.Second, 20, "p99 ≤ 3s", false},
	} {
		target, met := P2bTarget(c.f, c.scale, 3*time.Second)
		if target != c.target || met(c.p99, c.reloads) != c.met {
			t.Errorf("%s scale=%v p99=%s reloads=%d: %q, met %v; want %q, %v", c.f.Version, c.scale, c.p99, c.reloads,
				target, met(c.p99, c.reloads), c.target, c.met)
		}
	}
}

func TestHAProxyMemString(t *testing.T) {
	m := HAProxyMem{RSS: 300 << 20, PSS: 200 << 20, MasterRSS: 100 << 20, Workers: 1, Old: 1}
	if got, want := m.String(), "300.0 MiB (master 100.0 MiB + 1 worker + 1 old; PSS 200.0 MiB)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSumMemory(t *testing.T) {
	procs := []haproxy.Process{{PID: 1, Role: "master"}, {PID: 2, Role: "worker"}, {PID: 3, Role: "worker", Old: true}, {PID: 4, Role: "program"}}
	mem := map[int]int64{1: 10, 2: 100, 3: 50}
	read := func(pid int) (int64, int64, error) {
		v, ok := mem[pid]
		if !ok {
			return 0, 0, fmt.Errorf("%w: pid %d", errVanished, pid)
		}
		return v, v / 2, nil
	}
	m, err := sumMemory(procs, read)
	if err != nil || m.RSS != 160<<10 || m.PSS != 80<<10 || m.MasterRSS != 10<<10 || m.Workers != 1 || m.Old != 1 {
		t.Errorf("all present: %+v, %v", m, err)
	}
	delete(mem, 3) // the old worker exited after show proc
	m, err = sumMemory(procs, read)
	if err != nil || m.RSS != 110<<10 || m.Old != 0 || m.Workers != 1 {
		t.Errorf("old worker gone: %+v, %v", m, err)
	}
	delete(mem, 2) // a reload replaced the current worker: ask show proc again
	if _, err := sumMemory(procs, read); !errors.Is(err, errVanished) {
		t.Errorf("current worker gone: %v, want errVanished", err)
	}
	mem[2] = 100
	boom := errors.New("permission denied")
	if _, err := sumMemory(procs, func(int) (int64, int64, error) { return 0, 0, boom }); !errors.Is(err, boom) || errors.Is(err, errVanished) {
		t.Errorf("other errors pass through: %v", err)
	}
}

func TestReadMemoryOfAGoneProcess(t *testing.T) {
	// PID 0 has no /proc directory, like a process that has exited.
	if _, _, err := readMemory(0); !errors.Is(err, errVanished) {
		t.Errorf("got %v, want errVanished", err)
	}
}
