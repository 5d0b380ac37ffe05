package controller

import (
	"context"
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
)

// statusJob is what one status pass needs.
type statusJob struct {
	snap   *model.Snapshot
	served []string
}

// statusQueue hands the latest statusJob to one writer goroutine, so that
// the UpdateStatus round trips of new Ingresses never hold up the apply
// loop: run inline they delayed endpoint changes that arrived meanwhile
// (hack/bench P2a, P1 running beside new Ingresses). Jobs that arrive
// while the writer is busy collapse into the newest one.
type statusQueue struct {
	mu      sync.Mutex
	pending *statusJob
	wake    chan struct{}
}

func newStatusQueue() *statusQueue {
	return &statusQueue{wake: make(chan struct{}, 1)}
}

// offer replaces the pending job with job and wakes the writer.
func (q *statusQueue) offer(job statusJob) {
	q.mu.Lock()
	q.pending = &job
	q.mu.Unlock()
	q.signal()
}

// signal wakes the writer unless a wake-up is already pending.
func (q *statusQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the pending job, or nil.
func (q *statusQueue) take() *statusJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	job := q.pending
	q.pending = nil
	return job
}

// run calls write for the newest job until ctx ends. A failed job is
// offered again after retry unless a newer one came in meanwhile.
func (q *statusQueue) run(ctx context.Context, retry time.Duration, write func(context.Context, statusJob) error) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		job := q.take()
		if job == nil {
			continue
		}
		if err := write(ctx, *job); err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			q.mu.Lock()
			if q.pending == nil {
				q.pending = job
			}
			q.mu.Unlock()
			q.signal()
		}
	}
}
