package controller

import (
	"context"
	"errors"
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
