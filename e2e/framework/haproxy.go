package framework

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// ServerSessions returns the current sessions (scur of `show stat`) of
// each server of backend that has any.
func (b *Bollard) ServerSessions(t testing.TB, backend string) map[string]int {
	t.Helper()
	ctx, rt, done := b.adminSocket()
	defer done()
	out, err := rt.Query(ctx, haproxy.ShowStat())
	if err != nil {
		t.Fatalf("show stat: %v", err)
	}
	sessions := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 5 || f[0] != backend || f[1] == "BACKEND" {
			continue
		}
		if n, err := strconv.Atoi(f[4]); err == nil && n > 0 {
			sessions[f[1]] = n
		}
	}
	return sessions
}
