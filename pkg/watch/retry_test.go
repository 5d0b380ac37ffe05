package watch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestUntilReachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	calls := 0
	v, err := untilReachable(context.Background(), func() (int, error) {
		calls++
		if calls < 3 {
			return 0, fmt.Errorf("list: %w", refused)
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Fatalf("got %d, %v after %d calls; want 7 after 3", v, err, calls)
	}

	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("rbac"))
	calls = 0
	if _, err := untilReachable(context.Background(), func() (int, error) { calls++; return 0, forbidden }); !apierrors.IsForbidden(err) || calls != 1 {
		t.Fatalf("a refusal by the API server must return at once: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := untilReachable(ctx, func() (int, error) { return 0, apierrors.NewServiceUnavailable("starting") }); !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("want the last error when ctx ends, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("did not stop with ctx: %s", d)
	}
}
