package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAppliedBuilds(t *testing.T) {
	log := strings.Join([]string{
		`time=2026-12-07T03:39:35.927Z level=INFO msg=applied runtime_commands=5 reload="" waited=21µs build=914µs runtime_api=7.479ms files=written took=9.438ms`,
		`time=2026-12-07T03:39:35.957Z level=INFO msg=applied runtime_commands=5 reload="" waited=6µs build=3.753ms model_path=patch runtime_api=7.638ms`,
		`time=2026-12-07T03:39:35.958Z level=INFO msg=applied runtime_commands=0 reload="new backend" waited=6µs build=200ms model_path=full`,
		`time=2026-12-07T03:39:35.959Z level=INFO msg="first config applied" after=1s build=5ms`,
		`time=2026-12-07T03:39:35.960Z level=INFO msg=applied runtime_commands=2 reload="" build=1.5ms model_path=full`,
		`time=2026-12-07T03:39:35.961Z level=INFO msg=applied runtime_commands=2 reload="" build=garbage`,
	}, "\n")
	builds, paths := AppliedBuilds(log)
	want := []time.Duration{914 * time.Microsecond, 3753 * time.Microsecond, 1500 * time.Microsecond}
	if !slices.Equal(builds, want) {
		t.Errorf("builds %v, want %v", builds, want)
	}
	if got := PathCounts(paths); got != "patch 1, full 1" {
		t.Errorf("paths %q", got)
	}
	if _, paths := AppliedBuilds(log[:strings.Index(log, "\n")]); PathCounts(paths) != "" {
		t.Errorf("a log without model_path= names no path: %v", paths)
	}
}

func TestFastTable(t *testing.T) {
	f := NewFastTable()
	f.SetPresent(SizeSmall, 104)
	f.SetPresent(SizeSmall, 136)
	f.SetPresent(SizeScale, 10156)
	for _, r := range fastRows {
		if r.Key != RowCPU {
			f.Set(r.Key, SizeSmall, "s-"+r.Key, Met)
		}
	}
	f.SetCPU(SizeSmall, 2*time.Millisecond, 10, 20*time.Millisecond)
	f.SetCPU(SizeScale, 5*time.Millisecond, 10, 50*time.Millisecond)
	f.Set(RowP1, SizeScale, "boom", Failed)
	missing := f.Missing([]string{SizeSmall, SizeScale})
	if len(missing) != len(fastRows)-1 || missing[0] != "p1 at scale" {
		t.Errorf("missing %v", missing)
	}
	if m := f.Missing([]string{SizeSmall}); len(m) != 0 {
		t.Errorf("small is complete, missing %v", m)
	}
	md := (&Report{Tables: []Table{f.Table()}}).Markdown()
	for _, want := range []string{"| 104–136 Ingresses |", "| 10156 Ingresses |", "| s-p6 | met | not run |", "5.0 ms (50.0 ms over 10 swaps); 2.5× the small size's"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}
