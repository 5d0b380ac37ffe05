package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// HAProxyBinary is one HAProxy the benchmark runs, with the version its
// `-v` printed.
type HAProxyBinary struct {
	Path    string
	Version haproxy.Version
}

// Features is what Bollard uses on this binary's version.
func (h HAProxyBinary) Features() haproxy.Features { return haproxy.FeaturesFor(h.Version) }

// String is "HAProxy 3.4.7-1 (path)".
func (h HAProxyBinary) String() string { return "HAProxy " + h.Version.Raw + " (" + h.Path + ")" }

// ProbeHAProxy runs `path -v` and reads the version from its first line.
func ProbeHAProxy(path string) (HAProxyBinary, error) {
	abs, err := exec.LookPath(path)
	if err != nil {
		return HAProxyBinary{}, err
	}
	if a, err := filepath.Abs(abs); err == nil {
		abs = a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, abs, "-v").Output()
	if err != nil {
		return HAProxyBinary{}, fmt.Errorf("%s -v: %w", abs, err)
	}
	v, err := haproxy.ParseVersion(string(out))
	if err != nil {
		return HAProxyBinary{}, fmt.Errorf("%s -v: %w", abs, err)
	}
	return HAProxyBinary{Path: abs, Version: v}, nil
}

// SplitList splits a list of HAProxy lines or paths separated by spaces
// or commas (BENCH_P2B_VERSIONS, -bench.p2b-versions).
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// ResolveHAProxy turns one entry of that list into a binary's path: a path
// (it holds a "/") is itself; a release line ("3.4") is main when main is of
// that line, else cache/LINE/haproxy (where hack/haproxy/fetch.sh installs
// it). Nothing is fetched: a line not installed gives an error that says how
// to install it.
func ResolveHAProxy(entry string, main HAProxyBinary, cache string) (string, error) {
	if strings.Contains(entry, "/") {
		return entry, nil
	}
	if _, err := haproxy.ParseVersion(entry); err != nil || strings.Count(entry, ".") != 1 {
		return "", fmt.Errorf("%q is neither a release line such as 3.4 nor a path", entry)
	}
	if main.Version.Line() == entry {
		return main.Path, nil
	}
	path := filepath.Join(cache, entry, "haproxy")
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("HAProxy %s is not installed at %s (hack/haproxy/fetch.sh %s installs it; HAPROXY_CACHE names another cache)", entry, path, entry)
	}
	return path, nil
}

// HAProxyMem is the memory of one HAProxy: its master and workers, their
// PIDs from the master socket's `show proc`.
type HAProxyMem struct {
	RSS       int64 // bytes, VmRSS summed over the processes
	PSS       int64 // bytes, Pss (smaps_rollup) summed: shared pages counted once
	MasterRSS int64
	Workers   int // current workers
	Old       int // old workers still finishing after a reload
}

// String is "412.0 MiB (master 200.0 MiB + 1 worker; PSS 300.0 MiB)".
func (m HAProxyMem) String() string {
	w := fmt.Sprintf("%d worker", m.Workers)
	if m.Workers != 1 {
		w += "s"
	}
	if m.Old > 0 {
		w += fmt.Sprintf(" + %d old", m.Old)
	}
	return fmt.Sprintf("%s (master %s + %s; PSS %s)", MiB(m.RSS), MiB(m.MasterRSS), w, MiB(m.PSS))
}

// HAProxyMemory reads the memory of the HAProxy whose master listens on
// masterSocket (a controller's runtime dir holds master.sock). A reload
// can replace a worker between `show proc` and the read of its /proc
// files: an old worker that is gone is left out (it holds no memory any
// more), and a current one that is gone means a new `show proc`.
func HAProxyMemory(ctx context.Context, masterSocket string) (HAProxyMem, error) {
	var err error
	for range 10 {
		var procs []haproxy.Process
		procs, err = haproxy.NewMaster(masterSocket, nil).Processes(ctx)
		if err != nil {
			return HAProxyMem{}, err
		}
		var m HAProxyMem
		m, err = sumMemory(procs, readMemory)
		if !errors.Is(err, errVanished) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return HAProxyMem{}, errors.Join(err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return HAProxyMem{}, err
}

// errVanished marks a process whose /proc files are gone or hold no memory
// figures any more (it exited, or is a zombie).
var errVanished = errors.New("process gone")

// readMemory reads a process's VmRSS and Pss in KiB.
func readMemory(pid int) (rss, pss int64, err error) {
	if rss, err = ProcStatusKB(pid, "VmRSS"); err == nil {
		pss, err = procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
	}
	if err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || errors.Is(err, errNoField)) {
		err = fmt.Errorf("%w: %w", errVanished, err)
	}
	return rss, pss, err
}

// sumMemory adds up the master and workers of procs with read (KiB),
// leaving out old workers that have vanished.
func sumMemory(procs []haproxy.Process, read func(pid int) (rss, pss int64, err error)) (HAProxyMem, error) {
	var m HAProxyMem
	for _, p := range procs {
		if p.Role != "master" && p.Role != "worker" {
			continue
		}
		rss, pss, err := read(p.PID)
		if err != nil {
			if p.Old && errors.Is(err, errVanished) {
				continue
			}
			return HAProxyMem{}, fmt.Errorf("%s %d of show proc: %w", p.Role, p.PID, err)
		}
		m.RSS += rss << 10
		m.PSS += pss << 10
		switch {
		case p.Role == "master":
			m.MasterRSS = rss << 10
		case p.Old:
			m.Old++
		default:
			m.Workers++
		}
	}
	return m, nil
}

// errNoField: a /proc file without the field asked for.
var errNoField = errors.New("no such field")

// procKB reads a "Field:  N kB" line of a /proc file in KiB.
func procKB(path, field string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: %w %s", path, errNoField, field)
}

// P2bRuntimeTarget is the P2b target at 10k Ingresses on an HAProxy with
// runtime backends (3.4, issue 13): a new Service served without a reload.
const (
	P2bRuntimeP99    = 250 * time.Millisecond
	P2bRuntimeTarget = "p99 ≤ 250 ms, 0 reloads"
)

// P2bTarget is the target of one P2b row: on a version with runtime
// backends at scale, P2bRuntimeTarget; else p99 ≤ standing (the suite's
// target for that size, which a reload may take).
func P2bTarget(f haproxy.Features, scale bool, standing time.Duration) (string, func(p99 time.Duration, reloads int) bool) {
	if f.RuntimeBackends && scale {
		return P2bRuntimeTarget, func(p99 time.Duration, reloads int) bool { return p99 <= P2bRuntimeP99 && reloads == 0 }
	}
	return "p99 ≤ " + strings.TrimSuffix(standing.String(), "0ms"), func(p99 time.Duration, _ int) bool { return p99 <= standing }
}
