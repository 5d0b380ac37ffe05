package haproxy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSupervisorRestartsAfterCrash(t *testing.T) {
	p := startProxy(t)
	a := backend(t, "A")
	p.exec(p.fill("be1", "slot1", a)...)
	p.mustGet("a.test", 200, "A /")
	if !p.sup.Healthy() || p.sup.Restarts() != 0 {
		t.Fatalf("healthy %v, restarts %d", p.sup.Healthy(), p.sup.Restarts())
	}
	select {
	case <-p.sup.Started():
		t.Fatal("Started fired for the first start")
	default:
	}

	// A config that cannot load keeps HAProxy down after the crash, so the
	// supervisor shows unhealthy and retries with backoff.
	p.writeConfig(p.config() + "  bogus_keyword here\n")
	masterPID := p.sup.PID()
	oldWorker := currentWorker(t, p.workers())
	if err := syscall.Kill(masterPID, syscall.SIGKILL); err != nil { // the PID we started
		t.Fatal(err)
	}
	eventually(t, "the supervisor to see the crash", 5*time.Second, func() bool { return !p.sup.Healthy() })
	eventually(t, "the old worker to exit with its master", 5*time.Second, func() bool { return gone(oldWorker) })
	time.Sleep(time.Second)
	if p.sup.Healthy() || p.sup.Restarts() != 0 {
		t.Fatalf("healthy %v, restarts %d with a broken config", p.sup.Healthy(), p.sup.Restarts())
	}
	if n := strings.Count(p.logs.String(), "haproxy restart failed"); n < 2 {
		t.Errorf("%d restart attempts in a second, want backoff retries", n)
	}

	start := time.Now()
	p.writeConfig(p.config())
	select {
	case <-p.sup.Started():
		t.Logf("restarted %v after the config was fixed", time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("Started did not fire after the master was killed")
	}
	if p.sup.Restarts() != 1 || !p.sup.Healthy() {
		t.Fatalf("restarts %d, healthy %v", p.sup.Restarts(), p.sup.Healthy())
	}
	if pid := p.sup.PID(); pid == masterPID || pid == 0 {
		t.Fatalf("master PID %d after restart (was %d)", pid, masterPID)
	}
	// The new HAProxy serves from the files: the runtime change is gone
	// until the controller re-applies it, which is what Started is for.
	p.mustGet("a.test", 503, "")
	p.exec(p.fill("be1", "slot1", a)...)
	p.mustGet("a.test", 200, "A /")

	// A plain crash restarts at once.
	masterPID = p.sup.PID()
	start = time.Now()
	if err := syscall.Kill(masterPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.sup.Started():
		t.Logf("restarted %v after SIGKILL", time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("Started did not fire after the second kill")
	}
	if p.sup.Restarts() != 2 {
		t.Errorf("restarts %d, want 2", p.sup.Restarts())
	}
}

func TestSupervisorStop(t *testing.T) {
	p := startProxy(t)
	procs := p.workers()
	pids := []int{p.sup.PID()}
	for _, pr := range procs[1:] {
		pids = append(pids, pr.PID)
	}
	if pids[0] != procs[0].PID {
		t.Fatalf("supervisor PID %d, master reports %d", pids[0], procs[0].PID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := p.sup.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(start))
	eventually(t, "every HAProxy process to exit", 5*time.Second, func() bool {
		for _, pid := range pids {
			if !gone(pid) {
				return false
			}
		}
		return true
	})
	if p.sup.Healthy() || p.sup.PID() != 0 {
		t.Error("healthy after Stop")
	}
	if status, _ := p.get("a.test"); status != 0 {
		t.Errorf("HTTP status %d after Stop", status)
	}
	if err := p.sup.Stop(ctx); err != nil { // again, from the test cleanup too
		t.Errorf("second Stop: %v", err)
	}
	select {
	case <-p.sup.Started():
		t.Error("Started fired on Stop")
	default:
	}
}

func TestSupervisorSoftStop(t *testing.T) {
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bhx")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	cfg := "global\n  master-worker\n  hard-stop-after 2s\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend f\n  bind 127.0.0.1:" + strconv.Itoa(freePort(t)) + "\n"
	writeFile(t, filepath.Join(dir, "haproxy.cfg"), []byte(cfg))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sup, err := StartSupervisor(ctx, SupervisorOptions{
		Binary: haproxyBinary(t), ConfigFile: filepath.Join(dir, "haproxy.cfg"),
		MasterSocket: filepath.Join(run, "m.sock"), SoftStop: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	pid := sup.PID()
	if err := sup.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !gone(pid) {
		t.Errorf("master %d still running", pid)
	}
}

func TestSupervisorStartError(t *testing.T) {
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bhx")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	writeFile(t, filepath.Join(dir, "haproxy.cfg"), []byte("global\n  bogus_global_keyword 1\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	sup, err := StartSupervisor(ctx, SupervisorOptions{
		Binary: haproxyBinary(t), ConfigFile: filepath.Join(dir, "haproxy.cfg"),
		MasterSocket: filepath.Join(run, "m.sock"),
	})
	if err == nil {
		sup.Stop(ctx)
		t.Fatal("started on a broken config")
	}
	if !strings.Contains(err.Error(), "bogus_global_keyword") || !strings.Contains(err.Error(), "exited during start") {
		t.Errorf("error does not carry HAProxy's output: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("start failure took %v", d)
	}

	if _, err := StartSupervisor(ctx, SupervisorOptions{ConfigFile: "x"}); err == nil {
		t.Error("started with no master socket")
	}
	_, err = StartSupervisor(ctx, SupervisorOptions{Binary: "/nonexistent/haproxy", ConfigFile: "x", MasterSocket: filepath.Join(run, "m.sock")})
	if err == nil {
		t.Error("started a missing binary")
	}
}
