package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Event is one line of `go test -json` (cmd/test2json).
type Event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // build-output and build-fail
	FailedBuild string // on a package's fail: the package that did not build
}

// Counts are top-level tests; a subtest counts in its parent.
type Counts struct {
	Passed, Failed, Skipped int
}

// Result is what one `go test -json` run reported.
type Result struct {
	Counts
	// FailedTests are "package TestName", in the order they failed; a
	// test that started and never ended (a panic, a timeout) is one,
	// marked "(did not finish)".
	FailedTests []string
	// Problems are failures outside any test: a package that did not
	// build, whose TestMain failed, or that reported no result.
	Problems []string
}

// OK reports whether nothing failed.
func (r Result) OK() bool { return r.Failed == 0 && len(r.Problems) == 0 }

type testKey struct{ pkg, test string }

// collector turns events into a Result and echoes to the console what a
// reader of the run needs: go test's own package lines (ok, FAIL, what a
// TestMain printed), build errors, the whole output of a failed test and
// the reason of a skipped one.
type collector struct {
	console  io.Writer
	res      Result
	output   map[testKey][]string // per running top-level test
	running  []testKey            // top-level tests started and not ended, in start order
	started  []string             // packages, in start order
	results  map[string]string    // package → pass, fail or skip
	failedIn map[string]int       // package → failed tests
}

func newCollector(console io.Writer) *collector {
	return &collector{console: console, output: map[testKey][]string{},
		results: map[string]string{}, failedIn: map[string]int{}}
}

// Parse reads a `go test -json` stream to its end, echoing to console.
// Lines that are not events (the go command's own messages) are echoed
// as they are.
func Parse(r io.Reader, console io.Writer) (Result, error) {
	c := newCollector(console)
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			var e Event
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil && e.Action != "" {
				c.event(e)
			} else {
				fmt.Fprint(console, line)
				if !strings.HasSuffix(line, "\n") {
					fmt.Fprintln(console)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return c.finish(), nil
		}
		if err != nil {
			return c.finish(), err
		}
	}
}

func (c *collector) event(e Event) {
	top, _, _ := strings.Cut(e.Test, "/")
	k := testKey{e.Package, top}
	switch e.Action {
	case "start":
		if !slices.Contains(c.started, e.Package) {
			c.started = append(c.started, e.Package)
		}
	case "build-output":
		fmt.Fprint(c.console, e.Output)
	case "output":
		if e.Test == "" {
			// The package's own lines: "ok  pkg 1.2s", "FAIL pkg", what
			// TestMain printed. The bare PASS before "ok" says nothing.
			if e.Output != "PASS\n" {
				fmt.Fprint(c.console, e.Output)
			}
			return
		}
		c.output[k] = append(c.output[k], e.Output)
	case "run":
		if e.Test == top && !slices.Contains(c.running, k) {
			c.running = append(c.running, k)
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			// A test still running when its package ends was cut short
			// (a timeout panics outside it): it failed.
			for _, r := range slices.Clone(c.running) {
				if r.pkg == e.Package {
					c.end(r, "fail", " (did not finish)")
				}
			}
			c.results[e.Package] = e.Action
			if !slices.Contains(c.started, e.Package) {
				c.started = append(c.started, e.Package)
			}
			if e.Action == "fail" && e.FailedBuild != "" {
				c.res.Problems = append(c.res.Problems, fmt.Sprintf("%s: did not build (%s)", e.Package, e.FailedBuild))
				c.failedIn[e.Package]++ // reported; not again as "outside any test"
			}
			return
		}
		if e.Test != top {
			return // a subtest: counted in its parent
		}
		c.end(k, e.Action, "")
	}
}

// end records the end of a top-level test and echoes what it said when
// it did not pass.
func (c *collector) end(k testKey, action, note string) {
	c.running = slices.DeleteFunc(c.running, func(r testKey) bool { return r == k })
	out := c.output[k]
	delete(c.output, k)
	switch action {
	case "pass":
		c.res.Passed++
	case "skip":
		c.res.Skipped++
		for _, l := range out {
			if !strings.HasPrefix(l, "=== ") {
				fmt.Fprint(c.console, l)
			}
		}
	case "fail":
		c.res.Failed++
		c.failedIn[k.pkg]++
		c.res.FailedTests = append(c.res.FailedTests, k.pkg+" "+k.test+note)
		for _, l := range out {
			fmt.Fprint(c.console, l)
		}
		if note != "" {
			fmt.Fprintf(c.console, "--- FAIL: %s%s\n", k.test, note)
		}
	}
}

func (c *collector) finish() Result {
	for len(c.running) > 0 {
		c.end(c.running[0], "fail", " (did not finish)")
	}
	for _, pkg := range c.started {
		switch c.results[pkg] {
		case "":
			c.res.Problems = append(c.res.Problems, pkg+": reported no result (the test binary was killed?)")
		case "fail":
			if c.failedIn[pkg] == 0 {
				c.res.Problems = append(c.res.Problems, pkg+": failed outside any test (TestMain, a panic or a timeout; see its output)")
			}
		}
	}
	return c.res
}
