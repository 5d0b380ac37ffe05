package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.md")

// testdata/events.jsonl is real `go test -json` output of packages that
// pass, fail in a subtest, skip, fail in TestMain, do not build, panic and
// time out, then a line that is not an event and a package cut off in the
// middle of a test (the go command killed).
func TestParse(t *testing.T) {
	f, err := os.Open("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var console bytes.Buffer
	res, err := Parse(f, &console)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Passed: 2, Failed: 4, Skipped: 1}); res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	wantFailed := []string{
		"example.com/ev/a TestFail",
		"example.com/ev/d TestPanics",
		"example.com/ev/e TestSlow (did not finish)",
		"example.com/ev/f TestKilled (did not finish)",
	}
	if !slices.Equal(res.FailedTests, wantFailed) {
		t.Errorf("failed tests %q, want %q", res.FailedTests, wantFailed)
	}
	wantProblems := []string{
		"example.com/ev/c: did not build (example.com/ev/c [example.com/ev/c.test])",
		"example.com/ev/b: failed outside any test (TestMain, a panic or a timeout; see its output)",
		"example.com/ev/f: reported no result (the test binary was killed?)",
	}
	if !slices.Equal(res.Problems, wantProblems) {
		t.Errorf("problems %q, want %q", res.Problems, wantProblems)
	}
	if res.OK() {
		t.Error("OK with failures")
	}

	out := console.String()
	for _, want := range []string{
		"FAIL\texample.com/ev/a\t", // go test's package lines
		"FAIL\texample.com/ev/c [build failed]\n",
		"e2e: start test cluster: boom\n",                                 // TestMain's own output
		"c/c_test.go:5:40: cannot use",                                    // the build error
		"=== RUN   TestFail\n", "want 1, got 2\n", "--- FAIL: TestFail (", // a failed test, whole
		"panic: test timed out after 1s\n",
		"--- FAIL: TestSlow (did not finish)\n",
		"a_test.go:10: the e2e test cluster needs root\n--- SKIP: TestSkip", // why a test skipped
		"go: some message that is not an event\n",
		"f_test.go:9: waiting for the cluster\n--- FAIL: TestKilled (did not finish)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"a_test.go:5: fine", "=== RUN   TestPass", "=== RUN   TestSkip", "\nPASS\n"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("console has %q (a passing test's output, or a run line of a skipped one)", unwanted)
		}
	}
}

func TestParsePassing(t *testing.T) {
	stream := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"run","Package":"p","Test":"TestA/x"}
{"Action":"pass","Package":"p","Test":"TestA/x"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}
{"Action":"skip","Package":"q"}`
	var console bytes.Buffer
	res, err := Parse(strings.NewReader(stream), &console)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Counts != (Counts{Passed: 1}) {
		t.Errorf("got %+v", res)
	}
	if got, want := console.String(), "ok  \tp\t0.1s\n?   \tq\t[no test files]\n"; got != want {
		t.Errorf("console %q, want %q", got, want)
	}
}

func sampleReport() *Report {
	date := time.Date(2026, 11, 29, 18, 5, 0, 0, time.UTC)
	return &Report{
		Date: date, Commit: "af3da95", GoVersion: "go1.26.8 linux/amd64",
		Command: `make test-haproxy-matrix HAPROXY_VERSIONS="2.6 3.4 9.9"`,
		Suites:  suites[:2], AllSuites: suites,
		Tested: []string{"2.6", "3.0", "3.2", "3.4"},
		Lines: []*Line{
			{
				Line: "2.6", Binary: "/c/2.6/haproxy", Banner: "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/",
				Version: "2.6.12-1+deb12u4", Known: true, Capabilities: []string{"reload-by-show-proc"},
				Results: map[string]*SuiteRun{
					"runtime":    {Result: Result{Counts: Counts{Passed: 120, Skipped: 1}}, Elapsed: 61400 * time.Millisecond},
					"controller": {Result: Result{Counts: Counts{Passed: 14}}, Elapsed: 95 * time.Second},
				},
			},
			{
				Line: "3.4", Binary: "/c/3.4/haproxy", Banner: "HAProxy version 3.4.7-1 2026/10/14 - https://haproxy.org/",
				Version: "3.4.7-1", Known: true, Capabilities: []string{"master-reload-status", "runtime-backends"},
				Results: map[string]*SuiteRun{
					"runtime": {Result: Result{Counts: Counts{Passed: 121}}, Elapsed: 58 * time.Second},
					"controller": {
						Result: Result{Counts: Counts{Passed: 12, Failed: 2}, FailedTests: []string{
							"github.com/bollard-io/bollard/e2e/controller TestEndpoints",
							"github.com/bollard-io/bollard/e2e/controller TestScale (did not finish)",
						}, Problems: []string{"p: failed outside any test | x\nsecond line"}},
						Elapsed: 130 * time.Second,
					},
				},
			},
			{Line: "9.9", Err: "hack/haproxy/fetch.sh 9.9: exit status 2", Results: map[string]*SuiteRun{}},
		},
	}
}

// The report of a run with a passing line, a failing one and one that
// could not be installed, two of the three suites: testdata/report.golden.md
// (go test ./hack/haproxymatrix -update rewrites it).
func TestReport(t *testing.T) {
	r := sampleReport()
	if r.OK() {
		t.Fatal("OK with a failed suite and an untested line")
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("report differs from %s (-update rewrites it):\n%s", golden, b.String())
	}
}

// A suite where many tests failed names the first maxListed.
func TestReportManyFailures(t *testing.T) {
	r := sampleReport()
	run := r.Lines[1].Results["controller"]
	run.FailedTests = nil
	for i := range maxListed + 5 {
		run.FailedTests = append(run.FailedTests, fmt.Sprintf("p Test%d", i))
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, fmt.Sprintf("`p Test%d`; and 5 more tests", maxListed-1)) ||
		strings.Contains(out, fmt.Sprintf("`p Test%d`", maxListed)) {
		t.Errorf("want the first %d tests and a count of the rest:\n%s", maxListed, out)
	}
}

func TestReportAllPassed(t *testing.T) {
	r := sampleReport()
	r.Lines = r.Lines[:1]
	r.Suites = suites
	r.Lines[0].Results["conformance"] = &SuiteRun{Result: Result{Counts: Counts{Passed: 40}}}
	r.Lines[0].Results["options"] = &SuiteRun{Result: Result{Counts: Counts{Passed: 9}}}
	r.Lines[0].Results["policies"] = &SuiteRun{Result: Result{Counts: Counts{Passed: 10}}}
	r.Lines[0].Results["gateway"] = &SuiteRun{Result: Result{Counts: Counts{Passed: 58}}}
	if !r.OK() {
		t.Fatal("not OK")
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"**Every suite passed on every line run.**",
		"Lines run: 2.6. Not run this time: 3.0, 3.2, 3.4",
		"| 2.6 | 2.6.12-1+deb12u4 | 120 / 0 / 1 (1m1s) | 14 / 0 / 0 (1m35s) | 9 / 0 / 0 (0s) | 10 / 0 / 0 (0s) | 40 / 0 / 0 (0s) | 58 / 0 / 0 (0s) | pass |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"## Failures", "Suites not run"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("report has %q:\n%s", unwanted, out)
		}
	}
}

// A suite whose go test failed with no test or package to blame fails.
func TestSuiteRunExitError(t *testing.T) {
	run := &SuiteRun{ExitErr: "go test: exit status 1"}
	if run.OK() {
		t.Error("OK with a failed go test")
	}
	l := &Line{Line: "2.6", Results: map[string]*SuiteRun{"runtime": run}}
	if l.OK() {
		t.Error("line OK with a failed suite")
	}
}

// install reads the version and the capabilities from the code, and
// refuses a binary of another line.
func TestInstall(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "haproxy")
	script(t, bin, "echo 'HAProxy version 3.4.7-1 2026/10/14 - https://haproxy.org/'\necho 'Status: long-term supported branch'")
	fetch := filepath.Join(dir, "fetch.sh")
	script(t, fetch, "echo 'fetch.sh: installing' >&2\necho "+bin)

	l := &Line{Line: "3.4"}
	if err := l.install(t.Context(), fetch); err != nil {
		t.Fatal(err)
	}
	v, err := haproxy.ParseVersion("3.4.7-1")
	if err != nil {
		t.Fatal(err)
	}
	f := haproxy.FeaturesFor(v)
	if l.Binary != bin || l.Version != "3.4.7-1" || !l.Known || !slices.Equal(l.Capabilities, f.List()) ||
		l.Banner != "HAProxy version 3.4.7-1 2026/10/14 - https://haproxy.org/" {
		t.Errorf("got %+v", l)
	}

	other := &Line{Line: "3.2"}
	if err := other.install(t.Context(), fetch); err == nil || !strings.Contains(err.Error(), "not a 3.2") {
		t.Errorf("a 3.4 binary for line 3.2: %v", err)
	}
	failing := filepath.Join(dir, "fail.sh")
	script(t, failing, "exit 3")
	if err := (&Line{Line: "3.4"}).install(t.Context(), failing); err == nil {
		t.Error("a failed fetch.sh passed")
	}
}

// runSuite hands HAPROXY_BIN to go test and counts what it reports; a go
// test that fails with nothing to blame is a failed suite.
func TestRunSuite(t *testing.T) {
	dir := t.TempDir()
	fakeGo := filepath.Join(dir, "go")
	t.Setenv("HAPROXY_BIN", "/the/callers/haproxy")
	script(t, fakeGo, `[ "$HAPROXY_BIN" = /the/line/haproxy ] || { echo "HAPROXY_BIN=$HAPROXY_BIN" >&2; exit 9; }
echo '{"Action":"start","Package":"p"}'
echo '{"Action":"run","Package":"p","Test":"TestA"}'
echo '{"Action":"pass","Package":"p","Test":"TestA"}'
echo '{"Action":"run","Package":"p","Test":"TestB"}'
echo '{"Action":"skip","Package":"p","Test":"TestB"}'
echo '{"Action":"pass","Package":"p"}'
exit ${FAKE_EXIT:-0}`)
	run := runSuite(t.Context(), fakeGo, []string{"test", "-json"}, "/the/line/haproxy")
	if !run.OK() || run.Counts != (Counts{Passed: 1, Skipped: 1}) {
		t.Errorf("got %+v", run)
	}
	t.Setenv("FAKE_EXIT", "1")
	run = runSuite(t.Context(), fakeGo, []string{"test", "-json"}, "/the/line/haproxy")
	if run.OK() || run.ExitErr != "go test: exit status 1" {
		t.Errorf("go test failed with no test to blame: got %+v", run)
	}
}

func TestSelectSuites(t *testing.T) {
	all, err := selectSuites("")
	if err != nil || len(all) != len(suites) || len(all) != 6 {
		t.Fatalf("all: %v %v", all, err)
	}
	two, err := selectSuites("conformance, runtime")
	if err != nil || len(two) != 2 || two[0].Key != "conformance" || two[1].Key != "runtime" {
		t.Errorf("two: %v %v", two, err)
	}
	if _, err := selectSuites("nope"); err == nil {
		t.Error("an unknown suite was accepted")
	}
}

func script(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
