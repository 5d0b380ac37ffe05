package bench

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The two sizes of issue 16's table: the namespace-scoped controller of
// the small phase (~140 Ingresses) and the scale controller (10k).
const (
	SizeSmall = "small"
	SizeScale = "scale"
)

// Keys of the rows of issue 16's table.
const (
	RowP1     = "p1"
	RowP1P2a  = "p1+p2a"
	RowP2a    = "p2a"
	RowModel  = "model"
	RowCPU    = "cpu"
	RowP6     = "p6"
	RowRSS    = "rss"
	p1Target0 = p1Target + ", " + reloads0
	p1Target  = "p50 ≤ 10 ms, p99 ≤ 25 ms"
	reloads0  = "0 reloads"
)

// fastRows are the rows of issue 16's table in order, with their targets
// at 10k Ingresses.
var fastRows = []struct{ Key, Measure, Target string }{
	{RowP1, "P1: EndpointSlice written (update call returned) → first answer from the new pod, back to back", p1Target0},
	{RowP1P2a, "P1 with new Ingresses arriving beside it (P2a running)", p1Target0},
	{RowP2a, "P2a: Ingress create sent (new host → existing Service) → served", "p50 ≤ 100 ms, 0 reloads"},
	{RowModel, "model time per endpoint change (controller log `msg=applied build=`, during P1)", "p99 ≤ 1 ms"},
	{RowCPU, "controller CPU per endpoint change (utime+stime across P1 ÷ swaps)", "report; should not grow with the Ingresses"},
	{RowP6, "P6: reloads during pure endpoint changes, back to back", "0 reloads"},
	{RowRSS, "controller peak RSS (VmHWM) at the end of the size's measurements", "≤ 250 MB"},
}

// FastTable collects issue 16's rows at both sizes, for a table that puts
// them side by side.
type FastTable struct {
	mu      sync.Mutex
	present map[string][2]int              // size → Ingresses watched, first and last count
	cells   map[string]map[string]fastCell // row → size → cell
	cpu     map[string]time.Duration       // size → CPU per endpoint change
}

type fastCell struct{ Measured, Verdict string }

// NewFastTable returns an empty table.
func NewFastTable() *FastTable {
	return &FastTable{present: map[string][2]int{}, cells: map[string]map[string]fastCell{}, cpu: map[string]time.Duration{}}
}

// SetPresent records how many Ingresses the size's controller watched;
// called again at the end of the size's rows, the column names the range.
func (f *FastTable) SetPresent(size string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.present[size]
	if !ok {
		p[0] = n
	}
	p[1] = n
	f.present[size] = p
}

// Set records a row's figures at one size; verdict is Met, Missed, NoGoal
// or Failed (Failed: the measurement produced no numbers).
func (f *FastTable) Set(row, size, measured, verdict string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cells[row] == nil {
		f.cells[row] = map[string]fastCell{}
	}
	f.cells[row][size] = fastCell{Measured: measured, Verdict: verdict}
}

// SetCPU records the CPU per endpoint change at one size.
func (f *FastTable) SetCPU(size string, perChange time.Duration, swaps int, total time.Duration) {
	f.mu.Lock()
	f.cpu[size] = perChange
	f.mu.Unlock()
	f.Set(RowCPU, size, fmt.Sprintf("%s ms (%s ms over %d swaps)", Ms(perChange), Ms(total), swaps), NoGoal)
}

// Missing lists the rows that have no figures at one of sizes.
func (f *FastTable) Missing(sizes []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range fastRows {
		for _, s := range sizes {
			if c, ok := f.cells[r.Key][s]; !ok || c.Verdict == Failed {
				out = append(out, r.Key+" at "+s)
			}
		}
	}
	return out
}

// Table renders the rows side by side; the CPU row at 10k says how many
// times the figure at ~140 it is.
func (f *FastTable) Table() Table {
	f.mu.Lock()
	defer f.mu.Unlock()
	col := func(size, fallback string) string {
		p, ok := f.present[size]
		switch {
		case !ok:
			return fallback
		case p[0] == p[1]:
			return fmt.Sprintf("%d Ingresses", p[0])
		}
		return fmt.Sprintf("%d–%d Ingresses", p[0], p[1])
	}
	t := Table{
		Title: "Issue 16: the fast paths at both sizes (small phase: a controller on the benchmark's namespace; scale phase: one on all namespaces). " +
			"Targets are the issue's, at 10k Ingresses.",
		Header: []string{"row", "target at 10k", col(SizeSmall, "~140 Ingresses"), "verdict", col(SizeScale, "10k Ingresses"), "verdict"},
	}
	for _, r := range fastRows {
		row := []string{r.Measure, r.Target}
		for _, size := range []string{SizeSmall, SizeScale} {
			c, ok := f.cells[r.Key][size]
			if !ok {
				row = append(row, "not run", "")
				continue
			}
			m := c.Measured
			if r.Key == RowCPU && size == SizeScale && f.cpu[SizeSmall] > 0 && c.Verdict != Failed {
				m += fmt.Sprintf("; %.1f× the small size's", float64(f.cpu[SizeScale])/float64(f.cpu[SizeSmall]))
			}
			row = append(row, m, c.Verdict)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

var (
	appliedBuild = regexp.MustCompile(`\bbuild=(\S+)`)
	appliedPath  = regexp.MustCompile(`\bmodel_path=(\S+)`)
	appliedLoad  = regexp.MustCompile(`\breload=(\S+)`)
)

// AppliedBuilds reads the controller's `msg=applied` lines of log that
// did not reload (endpoint changes and other runtime-only syncs): their
// model build times and, where the line has model_path=, how many took
// each path.
func AppliedBuilds(log string) ([]time.Duration, map[string]int) {
	var builds []time.Duration
	paths := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, " msg=applied ") {
			continue
		}
		if m := appliedLoad.FindStringSubmatch(line); m != nil && strings.Trim(m[1], `"`) != "" {
			continue
		}
		m := appliedBuild.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(strings.Trim(m[1], `"`))
		if err != nil {
			continue
		}
		builds = append(builds, d)
		if p := appliedPath.FindStringSubmatch(line); p != nil {
			paths[strings.Trim(p[1], `"`)]++
		}
	}
	return builds, paths
}

// PathCounts is "patch 198, full 2", or "" when no line named its path.
func PathCounts(paths map[string]int) string {
	var parts []string
	for _, p := range []string{"patch", "full"} {
		if n, ok := paths[p]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", p, n))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if p != "patch" && p != "full" {
			parts = append(parts, fmt.Sprintf("%s %d", p, paths[p]))
		}
	}
	return strings.Join(parts, ", ")
}
