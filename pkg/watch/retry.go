package watch

import (
	"context"
	"errors"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// Retry delays while the API server cannot be reached.
const (
	minUnreachableDelay = 100 * time.Millisecond
	maxUnreachableDelay = time.Second
)

// newInformer builds an informer whose list and watch calls wait out an
// unreachable API server themselves, retrying every second at most.
//
// Returning the error to client-go's reflector instead would start its
// backoff, which grows to 30-60 s and cannot be set through an informer
// in client-go v0.37: after an outage of a minute the caches stayed stale
// for up to another minute (e2e/faults TestAPIServerDown measured 48 s).
func newInformer[L runtime.Object](client any, example runtime.Object,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return untilReachable(ctx, func() (runtime.Object, error) {
				l, err := list(ctx, o)
				if err != nil {
					return nil, err
				}
				return l, nil
			})
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return untilReachable(ctx, func() (watch.Interface, error) { return watchFn(ctx, o) })
		},
	}
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), example, 0, cache.Indexers{})
}

// untilReachable calls fn until it returns anything but an "API server
// unreachable" error, or ctx ends.
func untilReachable[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	delay := minUnreachableDelay
	for {
		v, err := fn()
		if err == nil || !unreachable(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(delay):
		}
		delay = min(2*delay, maxUnreachableDelay)
	}
}

// unreachable tells errors of an API server that is down or starting
// from answers about the request itself.
func unreachable(err error) bool {
	var netErr net.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}
