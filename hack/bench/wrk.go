package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// WrkResult is what the benchmark reads from wrk's output.
type WrkResult struct {
	RPS          float64
	Requests     int64
	P50, P99     time.Duration
	Non2xx       int64
	SocketErrors int64
}

// WrkScript returns a Lua script that requests path and rotates the Host
// header over hosts.
func WrkScript(path string, hosts []string) string {
	var b strings.Builder
	b.WriteString("local hosts = {")
	for i, h := range hosts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(h))
	}
	b.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i % #hosts + 1\n" +
		"  return wrk.format(\"GET\", " + strconv.Quote(path) + ", {[\"Host\"] = hosts[i]})\nend\n")
	return b.String()
}

// RunWrk runs wrk with --latency and parses its report.
func RunWrk(ctx context.Context, wrk, url, script string, threads, conns int, d time.Duration) (WrkResult, string, error) {
	f, err := os.CreateTemp("", "bollard-bench-*.lua")
	if err != nil {
		return WrkResult{}, "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return WrkResult{}, "", err
	}
	f.Close()
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	cmd := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", "--latency", "-s", f.Name(), url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return WrkResult{}, string(out), fmt.Errorf("wrk: %w: %s", err, out)
	}
	r, err := ParseWrk(string(out))
	return r, string(out), err
}

var (
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSocket   = regexp.MustCompile(`(?m)Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	unitOfWrk   = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}
	errNoWrkRPS = fmt.Errorf("no Requests/sec in wrk's output")
)

// ParseWrk reads requests/s, the 50% and 99% latencies, non-2xx responses
// and socket errors from wrk's output.
func ParseWrk(out string) (WrkResult, error) {
	var r WrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, errNoWrkRPS
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		d := time.Duration(v * float64(unitOfWrk[m[3]]))
		if m[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SocketErrors += n
		}
	}
	return r, nil
}

// ProcessCPU is the user+system CPU time of pid and its direct children
// (an HAProxy master and its workers), from /proc.
func ProcessCPU(pid int) (time.Duration, error) {
	total, err := cpuOf(pid)
	if err != nil {
		return 0, err
	}
	for _, child := range Children(pid) {
		if d, err := cpuOf(child); err == nil {
			total += d
		}
	}
	return total, nil
}

// Children lists the direct children of pid (/proc/PID/task/*/children).
func Children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// WaitGone waits until pid has exited (a zombie counts as exited: an
// orphan is reaped by PID 1, not by us).
func WaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cpuOf reads utime+stime of one process (clock ticks of 10 ms).
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond, nil
}

// ProcStatusKB reads a "VmRSS:"-style field of /proc/pid/status in KiB.
func ProcStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: %w %s", pid, errNoField, field)
}
