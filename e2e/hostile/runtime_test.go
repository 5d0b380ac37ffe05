package hostile

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminCommand sends one line to HAProxy's stats socket (non-prompt mode:
// HAProxy answers and closes).
func adminCommand(t *testing.T, e *env, line string) string {
	t.Helper()
	conn, err := net.Dial("unix", filepath.Join(e.b.RuntimeDir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// frontendStatus returns the status column of each FRONTEND in show stat.
func frontendStatus(t *testing.T, e *env) map[string]string {
	t.Helper()
	lines := strings.Split(adminCommand(t, e, "show stat"), "\n")
	header := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	col := -1
	for i, h := range header {
		if h == "status" {
			col = i
		}
	}
	out := map[string]string{}
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		if col >= 0 && len(f) > col && f[1] == "FRONTEND" {
			out[f[0]] = f[col]
		}
	}
	return out
}

// testSemicolonRuntime: ';' is a valid path character. A path holding it
// is added at run time (no reload), escaped, so that HAProxy keeps one
// literal key and never runs the text after ';' as a command.
func testSemicolonRuntime(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	const host = "semicolon.hostile.example"
	reloads := e.b.Reloads(t)
	mapUpdates := e.b.MetricSamples(t, "bollard_runtime_updates_total")[`{kind="map",result="success"}`]
	ing := ingress("semicolon", host, webPath("Prefix", "/a;disable"), webPath("Exact", "/b;disable%20frontend%20http"))
	if err := create(ctx, e.ns, ing); err != nil {
		t.Fatal(err)
	}
	echo := e.b.WaitServed(t, host, "/a;disable", "web", 15*time.Second)
	if echo.Path != "/a;disable" {
		t.Errorf("backend saw path %q", echo.Path)
	}
	for path, want := range map[string]int{"/a;disable/x": http.StatusOK, "/b;disable%20frontend%20http": http.StatusOK, "/a": http.StatusNotFound, "/b;disable": http.StatusNotFound} {
		if err := status(ctx, e, host, path, want); err != nil {
			t.Error(err)
		}
	}
	time.Sleep(settle)
	if got := e.b.Reloads(t); got != reloads {
		t.Errorf("a path with ';' caused %d reloads, want a runtime update", got-reloads)
	}
	added := e.b.MetricSamples(t, "bollard_runtime_updates_total")[`{kind="map",result="success"}`] - mapUpdates
	if added < 3 {
		t.Errorf("%v runtime map updates, want at least 3 (host, prefix path, exact path)", added)
	}
	for fe, st := range frontendStatus(t, e) {
		if st != "OPEN" {
			t.Errorf("frontend %s is %s", fe, st)
		}
	}
	prefix := adminCommand(t, e, "show map maps/paths-prefix.map")
	exact := adminCommand(t, e, "show map maps/paths-exact.map")
	if !strings.Contains(prefix, " "+host+"/a;disable/ ") || !strings.Contains(exact, " "+host+"/b;disable%20frontend%20http ") {
		t.Errorf("the running maps lack the literal keys:\n%s\n%s", prefix, exact)
	}
	e.results = append(e.results, fmt.Sprintf("';' in a path (runtime socket) | semicolon-runtime | served, escaped on the socket | "+
		"runtime map updates %v, reloads 0, frontends %v, keys literal in show map", added, frontendStatus(t, e)))
}
