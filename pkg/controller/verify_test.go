package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/render"
)

// One check at a time, the newest files next, and only a refusal (not a
// staging failure) reported.
func TestVerifier(t *testing.T) {
	var mu sync.Mutex
	var checked []string
	release := make(chan struct{})
	refusals, passes := make(chan struct{}, 4), make(chan struct{}, 4)
	v := newVerifier(func(_ context.Context, files []render.File) error {
		name := string(files[0].Data)
		mu.Lock()
		checked = append(checked, name)
		mu.Unlock()
		switch name {
		case "first":
			<-release
			return nil
		case "refused":
			return &haproxy.CheckError{Output: "[ALERT] refused"}
		default:
			return errStaging
		}
	}, func() { refusals <- struct{}{} }, func() { passes <- struct{}{} })
	files := func(name string) []render.File { return []render.File{{Path: "haproxy.cfg", Data: []byte(name)}} }

	ctx := context.Background()
	v.submit(ctx, files("first"))
	time.Sleep(10 * time.Millisecond) // "first" is being checked
	v.submit(ctx, files("skipped"))
	v.submit(ctx, files("refused")) // replaces "skipped"
	close(release)
	v.wait()
	select {
	case <-refusals:
	case <-time.After(5 * time.Second):
		t.Fatal("the refusal was not reported")
	}
	if len(passes) != 0 {
		t.Error("newest files refused, yet reported passed")
	}
	v.submit(ctx, files("staging"))
	v.wait()
	if len(refusals) != 0 || len(passes) != 0 {
		t.Errorf("a staging failure was reported as a refusal or a pass")
	}
	v.submit(ctx, files("first")) // release is closed: passes
	v.wait()
	if len(passes) != 1 {
		t.Errorf("%d passes reported for files that passed, want 1", len(passes))
	}
	mu.Lock()
	defer mu.Unlock()
	if got := len(checked); got != 4 || checked[0] != "first" || checked[1] != "refused" || checked[2] != "staging" || checked[3] != "first" {
		t.Errorf("checked %v, want first, refused, staging, first", checked)
	}
}
