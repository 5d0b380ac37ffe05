package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// converge is how long a change may take to be served. Bollard applies
// changes in milliseconds; the margin is for a loaded CI machine.
const converge = 20 * time.Second

// expectService waits until host+path is served by service, then checks it
// stays so for a few requests.
func expectService(t *testing.T, b *framework.Bollard, host, path, service string) *framework.Echo {
	t.Helper()
	e := b.WaitServed(t, host, path, service, converge)
	for i := 0; i < 3; i++ {
		got, err := framework.GetEcho(context.Background(), b.Request(host, path))
		if err != nil || got.Service != service {
			t.Errorf("Host %s %s: got %+v, %v; want service %s", host, path, got, err, service)
		}
	}
	return e
}

// expectStatus checks the status of host+path, waiting for it to settle.
func expectStatus(t *testing.T, b *framework.Bollard, host, path string, status int) *framework.Response {
	t.Helper()
	var resp *framework.Response
	err := framework.WaitFor(context.Background(), converge, host+path+" status", func(ctx context.Context) (bool, error) {
		r, err := framework.Do(ctx, b.Request(host, path))
		if err != nil {
			return false, err
		}
		resp = r
		return r.Status == status, nil
	})
	if err != nil {
		got := 0
		if resp != nil {
			got = resp.Status
		}
		t.Errorf("Host %s %s: status %d, want %d (%v)", host, path, got, status, err)
	}
	return resp
}
