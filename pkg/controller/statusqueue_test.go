package controller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
)

// TestStatusQueueWritesTheNewestJob: jobs offered while the writer is busy
// collapse into the newest, and a failed job is retried unless a newer
// one replaced it.
func TestStatusQueueWritesTheNewestJob(t *testing.T) {
	q := newStatusQueue()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var written []string
	release := make(chan struct{})
	failOnce := true
	done := make(chan struct{}, 16)
	go q.run(ctx, 10*time.Millisecond, func(_ context.Context, job statusJob) error {
		name := job.served[0]
		if name == "first" {
			<-release // busy while the next jobs arrive
		}
		if name == "flaky" && failOnce {
			failOnce = false
			return errors.New("API server unavailable")
		}
		mu.Lock()
		written = append(written, name)
		mu.Unlock()
		done <- struct{}{}
		return nil
	})
	job := func(name string) statusJob { return statusJob{snap: &model.Snapshot{}, served: []string{name}} }
	q.offer(job("first"))
	time.Sleep(20 * time.Millisecond) // the writer holds "first"
	q.offer(job("second"))
	q.offer(job("third"))
	close(release)
	<-done
	<-done
	q.offer(job("flaky"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the failed job was not retried")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"first", "third", "flaky"}
	if len(written) != len(want) {
		t.Fatalf("written %v, want %v", written, want)
	}
	for i := range want {
		if written[i] != want[i] {
			t.Fatalf("written %v, want %v", written, want)
		}
	}
}

// TestStatusJobsMerge: a job for some Ingresses that replaces or follows
// a pending one covers both; one for all Ingresses covers everything.
func TestStatusJobsMerge(t *testing.T) {
	newer := &model.Snapshot{}
	some := func(keys ...string) statusJob { return statusJob{snap: newer, only: keys} }
	tests := []struct {
		name         string
		newer, older statusJob
		want         []string
	}{
		{"both limited", some("ns/c", "ns/a"), some("ns/b", "ns/a"), []string{"ns/a", "ns/b", "ns/c"}},
		{"older for all", some("ns/a"), statusJob{}, nil},
		{"newer for all", statusJob{snap: newer}, some("ns/a"), nil},
	}
	for _, tt := range tests {
		got := tt.newer.merged(&tt.older)
		if !slices.Equal(got.only, tt.want) || (tt.want == nil) != (got.only == nil) || got.snap != tt.newer.snap {
			t.Errorf("%s: only %v, want %v (and the newer snapshot)", tt.name, got.only, tt.want)
		}
	}
	q := newStatusQueue()
	q.offer(some("ns/a"))
	q.offer(some("ns/b"))
	if job := q.take(); !slices.Equal(job.only, []string{"ns/a", "ns/b"}) {
		t.Errorf("queued jobs for ns/a then ns/b: %v", job.only)
	}
}

// TestStatusQueueKeepsAFailedJobsIngresses: a limited job that fails is
// merged into the one offered meanwhile, not dropped for it.
func TestStatusQueueKeepsAFailedJobsIngresses(t *testing.T) {
	q := newStatusQueue()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attempts := make(chan []string, 8)
	failed := false
	go q.run(ctx, 20*time.Millisecond, func(_ context.Context, job statusJob) error {
		attempts <- job.only
		if !failed {
			failed = true
			q.offer(statusJob{snap: &model.Snapshot{}, only: []string{"ns/b"}}) // arrives while the first fails
			return errors.New("API server unavailable")
		}
		return nil
	})
	q.offer(statusJob{snap: &model.Snapshot{}, only: []string{"ns/a"}})
	var last []string
	for range 2 {
		select {
		case last = <-attempts:
		case <-time.After(5 * time.Second):
			t.Fatal("no retry")
		}
	}
	for deadline := time.After(300 * time.Millisecond); ; {
		select {
		case last = <-attempts:
			continue
		case <-deadline:
		}
		break
	}
	if !slices.Contains(last, "ns/a") {
		t.Errorf("the last pass covered %v: ns/a, whose write failed, was dropped", last)
	}
}
