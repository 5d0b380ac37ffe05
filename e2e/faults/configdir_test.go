package faults

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// tree reads every file under dir (hidden ones too, so that a temporary
// file left behind shows), except skip.
func tree(t *testing.T, dir, skip string) map[string]string {
	t.Helper()
	return framework.ReadFiles(t, dir, func(name string) bool { return name == skip })
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, data := range after {
		if old, ok := before[name]; !ok {
			t.Errorf("%s appeared in the config dir during the fault", name)
		} else if old != data {
			t.Errorf("%s changed during the fault", name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("%s disappeared from the config dir during the fault", name)
		}
	}
}

// configDirFault breaks the config dir, makes a runtime-only change,
// kills HAProxy's worker (the restarted HAProxy loads the stale files) and
// makes a change that needs a reload. It checks: clear errors in the log,
// no file of the config dir changed or left behind, no reload, the runtime
// change re-applied after the restart, the last good config serving, no
// failed request but for the killed worker's; then it repairs the dir and
// waits for the pending change.
func configDirFault(t *testing.T, ns string, b *framework.Bollard, skip, wantErr string, breakDir, repair func()) {
	cluster.Echo(t, ns, "late", 1)
	l := load(t, b)
	before := tree(t, b.ConfigDir, skip)
	metrics, n := reloads(t, b), len(b.Log())
	breakDir()
	from := time.Now()
	apply(t, ns, "rt", "rt.example", "web") // runtime only: served from memory
	b.WaitServed(t, "rt.example", "/", "web", 10*time.Second)
	waitLog(t, b, n, wantErr, 15*time.Second)
	noFailures(t, l, from, "before the worker was killed")

	// The restarted HAProxy loads the files on disk, which lack rt.example.
	m := len(b.Log())
	killed := time.Now()
	if err := syscall.Kill(workerPID(t, b), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog(t, b, m, "re-applying state", 10*time.Second)
	b.WaitServed(t, "rt.example", "/", "web", 10*time.Second)
	reapplied := time.Since(killed)
	waitServing(t, b, 5*time.Second)
	restarted := measure(l, killed, time.Now())
	haproxyReloads, resumed := b.Reloads(t), time.Now()

	// A new backend: a reload, whose candidate needs the staging dir,
	// before HAProxy 3.4; on 3.4 a runtime change, served from memory like
	// rt.example, whose files cannot be written.
	runtimeBackends := b.Features(t).RuntimeBackends
	pendingErr := "staging dir"
	if runtimeBackends {
		pendingErr = wantErr
	}
	m = len(b.Log())
	apply(t, ns, "late", "late.example", "late")
	waitLog(t, b, m, pendingErr, 15*time.Second)
	time.Sleep(2 * time.Second) // a few retries
	log := logSince(b, n)
	if !strings.Contains(log, "sync failed; will retry") {
		t.Errorf("no \"sync failed; will retry\" in the log:\n%s", log)
	}
	if runtimeBackends {
		b.WaitServed(t, "late.example", "/", "late", 10*time.Second) // from memory, as rt.example
	} else if resp, err := framework.Do(context.Background(), b.Request("late.example", "/")); err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("late.example must not route before the config can be written: %v %v", resp, err)
	}
	sameTree(t, before, tree(t, b.ConfigDir, skip))
	if got := b.Reloads(t); got != haproxyReloads {
		t.Errorf("HAProxy reloaded %d times during the fault", got-haproxyReloads)
	}
	during := reloads(t, b)
	switch {
	case runtimeBackends:
		if during["write_failed"] != metrics["write_failed"] || during["check_failed"] != metrics["check_failed"] || during["error"] != metrics["error"] {
			t.Errorf("reload results before %v, during %v: want no reload attempt", metrics, during)
		}
	case during["write_failed"] <= metrics["write_failed"] || during["check_failed"] != metrics["check_failed"] || during["error"] != metrics["error"]:
		t.Errorf("reload results before %v, during %v: want only write_failed to grow", metrics, during)
	}
	repair()
	repaired := time.Now()
	b.WaitServed(t, "late.example", "/", "late", 60*time.Second)
	took := time.Since(repaired)
	// On 3.4 late.example was served before the repair: the files follow
	// at the next retry of the sync.
	var after map[string]string
	err := framework.WaitFor(context.Background(), 60*time.Second, "the pending changes in the repaired config dir", func(context.Context) (bool, error) {
		after = tree(t, b.ConfigDir, skip)
		return strings.Contains(after["maps/hosts.map"], "late.example") && strings.Contains(after["maps/hosts.map"], "rt.example"), nil
	})
	if err != nil {
		t.Errorf("%v:\n%s", err, after["maps/hosts.map"])
	}
	for name := range after {
		if strings.Contains(name, ".tmp-") || strings.HasPrefix(name, ".candidate") {
			t.Errorf("%s left in the config dir", name)
		}
	}
	o := noFailures(t, l, resumed, "after the restart")
	report(t, "runtime change served meanwhile; worker killed: %s, runtime change re-applied after %s; files unchanged, 0 reloads, write_failed %v → %v; %s; pending change served %s after the repair; log: %s",
		restarted, reapplied.Round(time.Millisecond), metrics["write_failed"], during["write_failed"], o, took.Round(time.Millisecond), lineWith(log, wantErr))
}

// lineWith returns the first log line holding text, shortened.
func lineWith(log, text string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, text) {
			if len(line) > 300 {
				line = line[:300] + "..."
			}
			return line
		}
	}
	return ""
}

// TestConfigDirUnwritable makes the config dir a read-only bind mount.
func TestConfigDirUnwritable(t *testing.T) {
	framework.Need(t, cluster)
	ns, b := setup(t, "rodir", 1)
	dir := b.ConfigDir
	mounted := false
	t.Cleanup(func() {
		if mounted {
			run(t, "umount", dir)
		}
	})
	configDirFault(t, ns, b, "", "read-only file system", func() {
		run(t, "mount", "--bind", dir, dir)
		mounted = true
		run(t, "mount", "-o", "remount,bind,ro", dir)
		if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
			t.Fatalf("the config dir is still writable: %v", err)
		}
	}, func() {
		run(t, "umount", dir)
		mounted = false
	})
}

// TestConfigDirFull puts the config dir on a 2 MiB tmpfs and fills it.
func TestConfigDirFull(t *testing.T) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	ns := cluster.CreateNamespace(t, "fulldir")
	dir := filepath.Join(t.TempDir(), "config")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "bollard-e2e-full", dir)
	// Registered before the controller, so it runs after the controller
	// and HAProxy have stopped.
	t.Cleanup(func() { run(t, "umount", dir) })
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: []string{"--config-dir", dir}})
	b.ConfigDir = dir
	cluster.Echo(t, ns, "web", 1)
	apply(t, ns, "healthy", healthyHost, "web")
	b.WaitServed(t, healthyHost, "/", "web", 30*time.Second)
	filler := filepath.Join(dir, ".filler")
	configDirFault(t, ns, b, ".filler", "no space left on device", func() {
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 64<<10)
		for i := 0; i < 64; i++ { // 4 MiB at most: more than the file system
			if _, err = f.Write(chunk); err != nil {
				break
			}
		}
		f.Close()
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling the config dir: %v", err)
		}
		probe := filepath.Join(dir, "probe")
		err = os.WriteFile(probe, []byte("x"), 0o644)
		os.Remove(probe)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("the config dir still has room: %v", err)
		}
	}, func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	})
}
