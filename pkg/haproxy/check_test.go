package haproxy_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
)

// A bcrypt hash of cost 10 takes ~85 ms to verify: HAProxy 3.4 warns for
// every password that takes 10 ms or more. Check must pass such a config
// (a warning is not a refusal) and refuse a broken one.
func TestCheckPassesWarnings(t *testing.T) {
	const cfg = `defaults d
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
userlist ul
  user u password $2y$10$93U5WLD0v3rXRpzXUzuPTuCE9q2.ttMKK9svNMO8ZkcIFOOMhJUpy
frontend f from d
  bind 127.0.0.1:1
  default_backend b
backend b from d
  http-request auth realm "R" if !{ http_auth(ul) }
`
	bin := haproxytest.Binary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "haproxy.cfg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		cfg   string
		valid bool
	}{{cfg, true}, {strings.Replace(cfg, "http_auth(ul)", "http_auth(missing)", 1), false}} {
		if err := os.WriteFile(file, []byte(c.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.CommandContext(ctx, bin, "-c", "-f", file).CombinedOutput()
		t.Logf("haproxy -c: %s", out) // 3.4: "the hash algorithm used for this password takes N milliseconds"
		err := haproxy.Check(ctx, bin, file)
		var checkErr *haproxy.CheckError
		switch {
		case c.valid && err != nil:
			t.Errorf("a config with warnings failed the check: %v", err)
		case !c.valid && !errors.As(err, &checkErr):
			t.Errorf("a config naming a missing userlist passed the check: %v", err)
		}
	}
}
