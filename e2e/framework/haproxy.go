package framework

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// Features returns what Bollard uses on the running HAProxy's version
// (haproxy.FeaturesFor of its `show info`), so that a test can state what
// each version must do.
func (b *Bollard) Features(t testing.TB) haproxy.Features {
	t.Helper()
	ctx, rt, done := b.adminSocket()
	defer done()
	v, err := rt.Version(ctx)
	if err != nil {
		t.Fatalf("read HAProxy's version: %v", err)
	}
	return haproxy.FeaturesFor(v)
}

// Backends lists the backends the running HAProxy has (`show backend`).
func (b *Bollard) Backends(t testing.TB) []string {
	t.Helper()
	ctx, rt, done := b.adminSocket()
	defer done()
	out, err := rt.Backends(ctx)
	if err != nil {
		t.Fatalf("show backend: %v", err)
	}
	return out
}

// HasBackend reports whether HAProxy has backend name.
func (b *Bollard) HasBackend(t testing.TB, name string) bool {
	t.Helper()
	return slices.Contains(b.Backends(t), name)
}

// adminSocket is a client of HAProxy's admin socket with a 5 s budget.
func (b *Bollard) adminSocket() (context.Context, *haproxy.Runtime, func()) {
	rt := haproxy.NewRuntime(filepath.Join(b.RuntimeDir, "admin.sock"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	return ctx, rt, func() { cancel(); rt.Close() }
}
