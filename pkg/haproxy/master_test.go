package haproxy

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReload(t *testing.T) {
	p := startProxy(t)
	a := backend(t, "A")
	p.exec(p.fill("be1", "slot1", a)...)
	before := p.workers()
	oldWorker := currentWorker(t, before)

	start := time.Now()
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	t.Logf("reload round trip: %v", time.Since(start))
	after := p.workers()
	newPID := currentWorker(t, after)
	if newPID == oldWorker {
		t.Fatalf("same worker %d after reload: %+v", newPID, after)
	}
	if after[0].Reloads != before[0].Reloads+1 || after[0].PID != before[0].PID {
		t.Errorf("master before %+v, after %+v: want the same master, one more reload", before[0], after[0])
	}
	for _, pr := range after {
		if pr.PID == oldWorker && !pr.Old {
			t.Errorf("old worker %d still current: %+v", oldWorker, after)
		}
	}
	// The new worker read the config: the runtime change is gone.
	p.mustGet("a.test", 503, "")

	// A config that does not load: error, and the worker keeps serving.
	p.exec(p.fill("be1", "slot1", a)...)
	p.writeConfig(p.config() + "  bogus_keyword here\n")
	start = time.Now()
	err := p.master.Reload(p.ctx())
	if err == nil || !strings.Contains(err.Error(), "did not load") {
		t.Fatalf("reload of a broken config: %v", err)
	}
	t.Logf("failed reload detected in %v: %v", time.Since(start), err)
	// 3.4 lists the worker that keeps serving among the old workers.
	failed := p.workers()
	if !hasWorker(failed, newPID) || newWorker(failed, map[int]bool{newPID: true}) != 0 || failed[0].FailedReloads == 0 {
		t.Errorf("after a failed reload: %+v", failed)
	}
	p.mustGet("a.test", 200, "A /")

	// Fixed again: the next reload works and clears the failure count.
	p.writeConfig(p.config())
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	if fixed := p.workers(); currentWorker(t, fixed) == newPID || fixed[0].FailedReloads != 0 {
		t.Errorf("after the fix: %+v", fixed)
	}
}

// Reloads from several goroutines run one at a time, each to completion.
func TestReloadSerialised(t *testing.T) {
	p := startProxy(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() { errs <- p.master.Reload(p.ctx()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if procs := p.workers(); procs[0].Reloads != 3 {
		t.Errorf("master reloads = %d, want 3", procs[0].Reloads)
	}
}

// bigConfig adds backends until the master needs a while to re-parse.
func bigConfig(base string, n int) string {
	var sb strings.Builder
	sb.WriteString(base)
	for i := range n {
		fmt.Fprintf(&sb, "\nbackend big%d from bollard\n  server-template slot 1-4 0.0.0.0:1 disabled\n", i)
	}
	return sb.String()
}

// While the master re-executes for a reload its socket refuses
// connections; calls retry until it answers.
func TestMasterBusyRetried(t *testing.T) {
	p := startProxy(t)
	p.writeConfig(bigConfig(p.config(), 6000))
	before := p.workers()

	conn, err := net.Dial("unix", filepath.Join(p.run, "master.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("reload\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := conn.Read(buf) // 2.6 closes it as it re-executes
	buf = buf[:n]
	conn.Close()

	m := NewMaster(filepath.Join(p.run, "master.sock"), p.logger)
	defer m.Close()
	start := time.Now()
	procs, err := m.Processes(p.ctx())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master answered after %v and %d retries", time.Since(start), m.retries.Load())
	if p.features.ReloadStatus {
		// 3.x answered the reload once the new worker was ready: no
		// window is left to exercise.
		if len(buf) == 0 || !strings.HasPrefix(string(buf), "Success=1") {
			t.Errorf("reply to reload: %q, want Success=1", buf)
		}
	} else if m.retries.Load() == 0 {
		t.Error("the master answered at once: the busy window was not exercised")
	}
	if procs[0].Reloads != before[0].Reloads+1 {
		t.Errorf("reloads %d, want %d", procs[0].Reloads, before[0].Reloads+1)
	}

	// A full Reload of the big config, timed.
	start = time.Now()
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	t.Logf("reload of a 6000-backend config: %v", time.Since(start))
}

// A short ctx bounds the retries.
func TestMasterUnreachable(t *testing.T) {
	m := NewMaster(filepath.Join(t.TempDir(), "none.sock"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Ping = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Ping took %v with a 300ms ctx", d)
	}
	if m.retries.Load() < 2 {
		t.Errorf("%d retries, want backoff retries", m.retries.Load())
	}
	if err := m.Reload(ctx); err == nil {
		t.Error("Reload with no master succeeded")
	}
}

func TestWaitForSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := WaitForSocket(ctx, path); err == nil {
		t.Fatal("WaitForSocket on a missing socket succeeded")
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { l.Close() })
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := WaitForSocket(ctx2, path); err != nil {
		t.Fatal(err)
	}
}

func hasWorker(procs []Process, pid int) bool {
	for _, p := range procs {
		if p.Role == "worker" && p.PID == pid {
			return true
		}
	}
	return false
}

func TestParseReloadReply(t *testing.T) {
	for _, tc := range []struct {
		out     string
		status  string // "", "ok", "failed"
		wantErr bool
	}{
		{"", "", false},
		{"\n", "", false},
		{"Success=1\n--\n[NOTICE]   (1) : Loading success.\n", "ok", false},
		{"Success=0\n--\n[ALERT]    (2) : config : Fatal errors found in configuration.\n", "failed", false},
		{"Permission denied\n", "", true},
	} {
		r, err := parseReloadReply(tc.out)
		status := ""
		if r != nil {
			status = map[bool]string{true: "ok", false: "failed"}[r.ok]
		}
		if status != tc.status || (err != nil) != tc.wantErr {
			t.Errorf("parseReloadReply(%q) = %s, %v", tc.out, status, err)
		}
	}
	if r, _ := parseReloadReply("Success=0\n--\nAnother reload is still in progress.\n"); r == nil || !r.busy() {
		t.Errorf("a reload refused while another runs is not seen as busy: %+v", r)
	}
	r, _ := parseReloadReply("Success=0\n--\n[NOTICE] x\n[ALERT]    (2) : config : unknown keyword 'bogus'\n[WARNING] y\n")
	if r.busy() {
		t.Error("a failed reload is seen as busy")
	}
	if got := r.alerts(); got != "[ALERT]    (2) : config : unknown keyword 'bogus'" {
		t.Errorf("alerts() = %q", got)
	}
}

// On 3.x a reload through the 2.6 path (a version Bollard does not know)
// still works: the Success=1 reply is followed by the show proc wait.
func TestReloadWithoutStatus(t *testing.T) {
	p := startProxy(t)
	p.master.UseFeatures(Features{})
	before := currentWorker(t, p.workers())
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	if after := currentWorker(t, p.workers()); after == before {
		t.Errorf("same worker %d after the reload", after)
	}
	p.writeConfig(p.config() + "  bogus_keyword here\n")
	if err := p.master.Reload(p.ctx()); err == nil || !strings.Contains(err.Error(), "did not load") {
		t.Fatalf("reload of a broken config: %v", err)
	}
}

// On 3.x the master refuses a reload while another runs ("Another reload
// is still in progress."); Reload retries until it takes one, and does not
// report a config that failed to load.
func TestReloadWhileAnotherRuns(t *testing.T) {
	p := startProxy(t)
	if !p.features.ReloadStatus {
		t.Skipf("HAProxy %s: no reload status (TestMasterBusyRetried covers its busy master)", p.features.Version)
	}
	p.writeConfig(bigConfig(p.config(), 6000))
	m := NewMaster(filepath.Join(p.run, "master.sock"), p.logger)
	defer m.Close()
	m.UseFeatures(p.features)
	before := p.workers()
	// An outside reload under way, then ours.
	outside := make(chan error, 1)
	go func() { _, err := p.master.sendReload(p.ctx()); outside <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := m.Reload(p.ctx()); err != nil {
		t.Fatalf("reload while another runs: %v", err)
	}
	if err := <-outside; err != nil {
		t.Fatal(err)
	}
	after := p.workers()
	t.Logf("%d retries; reloads %d → %d", m.retries.Load(), before[0].Reloads, after[0].Reloads)
	if after[0].Reloads < before[0].Reloads+2 || after[0].FailedReloads != 0 {
		t.Errorf("master before %+v, after %+v: want both reloads done, none failed", before[0], after[0])
	}
}
