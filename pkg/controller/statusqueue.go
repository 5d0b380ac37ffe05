package controller

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
)

// statusJob is what one status pass needs.
type statusJob struct {
	snap   *model.Snapshot
	served []string
	// only limits the pass to these Ingresses ("namespace/name"): those a
	// pass added to a model whose status was published (nil: all).
	only []string
}

// merged is job for the Ingresses of both jobs: the newer one's snapshot,
// and all Ingresses when either job was for all.
func (job statusJob) merged(older *statusJob) statusJob {
	if older == nil {
		return job
	}
	if job.only == nil || older.only == nil {
		job.only = nil
		return job
	}
	only := append(slices.Clone(older.only), job.only...)
	slices.Sort(only)
	job.only = slices.Compact(only)
	return job
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

// offer replaces the pending job with job, merged with it, and wakes the
// writer.
func (q *statusQueue) offer(job statusJob) {
	q.mu.Lock()
	job = job.merged(q.pending)
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
// offered again after retry, merged into any newer one.
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
			} else {
				merged := q.pending.merged(job)
				q.pending = &merged
			}
			q.mu.Unlock()
			q.signal()
		}
	}
}
