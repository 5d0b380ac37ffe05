// Command haproxymatrix runs Bollard's real-HAProxy tests on each HAProxy
// release line and writes docs/haproxy-versions.md from the results.
// `make test-haproxy-matrix` runs it:
//
//	go run ./hack/haproxymatrix -versions "2.6 3.0 3.2 3.4" -out docs/haproxy-versions.md
//
// For each line it installs the binary with hack/haproxy/fetch.sh, reads
// `haproxy -v` through haproxy.ParseVersion and haproxy.FeaturesFor (the
// capabilities Bollard uses on it), then runs each suite with `go test
// -json` and HAPROXY_BIN set to that binary, counting passed, failed and
// skipped tests from the events. The console gets go test's own package
// lines (ok, FAIL), build errors, and the output of failed tests.
//
// It writes the report even when something failed, and then exits 1. The
// e2e suites start test clusters (network namespaces): run them as root,
// and not beside another run of the same suites.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// suites run on every line, in this order.
var suites = []Suite{
	{
		Key: "runtime", Title: "routing and runtime",
		Args: []string{"./pkg/haproxy/", "./pkg/render/", "./pkg/cli/", "./pkg/controller/"},
		Why:  "the packages whose tests run the real HAProxy: runtime API, master CLI and supervisor, haproxy -c of rendered configs, routing through it, the CLI's --check, runtime read-back",
	},
	{
		Key: "controller", Title: "controller e2e",
		Args: []string{"./e2e/controller/"},
		Why:  "`bollard controller` managing HAProxy against the test cluster",
	},
	{
		Key: "options", Title: "backend options e2e",
		Args: []string{"./e2e/options/"},
		Why:  "the bollard.io backend options through the real HAProxy: timeouts, body limits, protocols (h2c, gRPC, TLS with CA and SNI), balancing, health checks, affinity; reloads counted",
	},
	{
		Key: "policies", Title: "route policies e2e",
		Args: []string{"./e2e/policies/", "./e2e/policyauth/", "./e2e/policymtls/"},
		Why:  "the bollard.io route policies through the real HAProxy: allow/deny lists on every spelling of a route, limit-rps, limit-connections, headers, rewrite-target, redirects, app-root, CORS, HSTS, basic auth, client certificates (real handshakes), a bad value left out; reloads counted",
	},
	{
		Key: "conformance", Title: "conformance",
		// -run . (every test) keeps the suite from rewriting
		// docs/conformance.md, which make test writes for the default HAProxy.
		Args: []string{"-run", ".", "./e2e/conformance/"},
		Why:  "Ingress v1 semantics through the real HAProxy (`-run .` keeps docs/conformance.md as make test wrote it)",
	},
	{
		Key: "gateway", Title: "Gateway API conformance",
		// Without BOLLARD_GATEWAY_CONFORMANCE the suite runs the whole
		// profile and leaves docs/gateway-conformance* alone.
		Args: []string{"./e2e/gatewayconformance/"},
		Why:  "the upstream Gateway API conformance suite, profile GATEWAY-HTTP, with the features Bollard claims (docs/gateway-conformance.md is written for the default HAProxy by make conformance-gateway)",
	},
}

// suiteKeys lists the suites' keys, for messages.
func suiteKeys() string {
	keys := make([]string, 0, len(suites))
	for _, s := range suites {
		keys = append(keys, s.Key)
	}
	return strings.Join(keys, ", ")
}

func main() {
	versions := flag.String("versions", strings.Join(haproxy.TestedLines(), " "), "HAProxy release lines, separated by spaces or commas")
	only := flag.String("suites", "", "suites to run, comma-separated (default all: "+suiteKeys()+")")
	out := flag.String("out", "docs/haproxy-versions.md", "the report to write")
	fetch := flag.String("fetch", "hack/haproxy/fetch.sh", "the script that installs a line and prints its binary")
	goCmd := flag.String("go", "go", "the go command")
	timeout := flag.String("timeout", "30m", "go test -timeout of each suite")
	command := flag.String("command", "", "the command to name in the report (default: this one)")
	flag.Parse()

	r := &Report{Date: time.Now(), Command: *command, Tested: haproxy.TestedLines(), AllSuites: suites}
	if r.Command == "" {
		r.Command = strings.Join(append([]string{"go run ./hack/haproxymatrix"}, os.Args[1:]...), " ")
	}
	var err error
	if r.Suites, err = selectSuites(*only); err != nil {
		fatal(err)
	}
	lines := strings.FieldsFunc(*versions, func(c rune) bool { return c == ' ' || c == ',' || c == '\t' })
	if len(lines) == 0 {
		fatal(errors.New("-versions: no line"))
	}
	r.Commit = commit(*out)
	r.GoVersion = goVersion(*goCmd)

	ctx := context.Background()
	for _, line := range lines {
		l := &Line{Line: line, Results: map[string]*SuiteRun{}}
		r.Lines = append(r.Lines, l)
		say("haproxy %s: %s %s", line, *fetch, line)
		if err := l.install(ctx, *fetch); err != nil {
			l.Err = err.Error()
			say("haproxy %s: NOT TESTED: %v", line, err)
			continue
		}
		say("haproxy %s: %s (%s), capabilities: %s", line, l.Banner, l.Binary, strings.Join(l.Capabilities, ", "))
		for _, s := range r.Suites {
			args := append([]string{"test", "-json", "-count=1", "-timeout", *timeout}, s.Args...)
			say("haproxy %s: %s: HAPROXY_BIN=%s %s %s", line, s.Title, l.Binary, *goCmd, strings.Join(args, " "))
			run := runSuite(ctx, *goCmd, args, l.Binary)
			l.Results[s.Key] = run
			status := "ok"
			if !run.OK() {
				status = "FAILED"
			}
			say("haproxy %s: %s: %s: %d passed, %d failed, %d skipped in %s", line, s.Title, status,
				run.Passed, run.Failed, run.Skipped, run.Elapsed.Round(time.Second))
		}
	}

	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		fatal(err)
	}
	if err := writeFile(*out, buf.Bytes()); err != nil {
		fatal(err)
	}
	say("wrote %s", *out)
	summary(r)
	if !r.OK() {
		say("FAIL: not every suite passed on every line (see %s)", *out)
		os.Exit(1)
	}
}

func selectSuites(only string) ([]Suite, error) {
	if only == "" || only == "all" {
		return suites, nil
	}
	var out []Suite
	for _, key := range strings.Split(only, ",") {
		key = strings.TrimSpace(key)
		i := slices.IndexFunc(suites, func(s Suite) bool { return s.Key == key })
		if i < 0 {
			return nil, fmt.Errorf("-suites: no suite %q (%s)", key, suiteKeys())
		}
		out = append(out, suites[i])
	}
	return out, nil
}

// install fetches the line's binary and reads its version and the
// capabilities Bollard uses on it.
func (l *Line) install(ctx context.Context, fetch string) error {
	cmd := exec.CommandContext(ctx, fetch, l.Line)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w", fetch, l.Line, err)
	}
	fields := strings.Fields(string(stdout))
	if len(fields) == 0 {
		return fmt.Errorf("%s %s printed no binary", fetch, l.Line)
	}
	l.Binary = fields[len(fields)-1]
	v, err := exec.CommandContext(ctx, l.Binary, "-v").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s -v: %w: %s", l.Binary, err, oneLine(string(v)))
	}
	l.Banner = oneLine(string(v))
	version, err := haproxy.ParseVersion(string(v))
	if err != nil {
		return err
	}
	if version.Line() != l.Line {
		return fmt.Errorf("%s is HAProxy %s, not a %s", l.Binary, version, l.Line)
	}
	f := haproxy.FeaturesFor(version)
	l.Version, l.Known, l.Capabilities = version.String(), f.Known, f.List()
	return nil
}

// runSuite runs go test with HAPROXY_BIN=binary and parses its events.
func runSuite(ctx context.Context, goCmd string, args []string, binary string) *SuiteRun {
	start := time.Now()
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HAPROXY_BIN=") }),
		"HAPROXY_BIN="+binary)
	cmd.Stderr = os.Stderr
	run := &SuiteRun{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		run.ExitErr = err.Error()
		return run
	}
	if err := cmd.Start(); err != nil {
		run.ExitErr = err.Error()
		return run
	}
	res, perr := Parse(stdout, os.Stdout)
	werr := cmd.Wait()
	run.Result, run.Elapsed = res, time.Since(start)
	switch {
	case perr != nil:
		run.ExitErr = "reading go test's output: " + perr.Error()
	case werr != nil && run.Result.OK():
		// go test failed and no test or package says why (the go
		// command's own error is on the console).
		run.ExitErr = "go test: " + werr.Error()
	}
	return run
}

// commit is HEAD's short hash, "-dirty" when the tree has changes other
// than the report itself.
func commit(out string) string {
	hash, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(hash))
	args := []string{"status", "--porcelain", "--", "."}
	if rel, err := gitRelative(out); err == nil {
		args = append(args, ":(exclude)"+rel)
	}
	if st, err := exec.Command("git", args...).Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}

// gitRelative is path relative to the repository's top directory.
func gitRelative(path string) (string, error) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.Rel(strings.TrimSpace(string(top)), abs)
}

func goVersion(goCmd string) string {
	out, err := exec.Command(goCmd, "version").Output()
	if err != nil {
		return "unknown Go"
	}
	// "go version go1.26.8 linux/amd64"
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
}

func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func summary(r *Report) {
	for _, l := range r.Lines {
		if l.Err != "" {
			say("  %s: not tested: %s", l.Line, oneLine(l.Err))
			continue
		}
		var parts []string
		for _, s := range r.Suites {
			run := l.Results[s.Key]
			mark := ""
			if !run.OK() {
				mark = " FAIL"
			}
			parts = append(parts, fmt.Sprintf("%s %d/%d/%d%s", s.Key, run.Passed, run.Failed, run.Skipped, mark))
		}
		say("  %s (%s): %s (passed/failed/skipped)", l.Line, l.Version, strings.Join(parts, ", "))
	}
}

func say(format string, a ...any) {
	fmt.Fprintf(os.Stdout, "matrix: "+format+"\n", a...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "haproxymatrix:", err)
	os.Exit(2)
}
