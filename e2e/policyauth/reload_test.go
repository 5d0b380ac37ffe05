package policyauth

import (
	"net/http"
	"testing"
	"time"
)

// TestAuthChanges: moving an Ingress to a userlist and realm its backend
// already checks is a map update (no reload); a changed Secret is one
// reload.
func TestAuthChanges(t *testing.T) {
	ns, b := cluster.Setup(t, "authmove")
	cluster.Echo(t, ns, "app", 1)
	putSecret(t, ns, "one", "ann:"+opensslHash(t, "-6", "ann-pw"))
	putSecret(t, ns, "two", "ben:"+opensslHash(t, "-6", "ben-pw"))
	cluster.MustApply(t, ns, ingress("a", "move.example", "/a", "auth-type: basic", "auth-secret: one"))
	cluster.MustApply(t, ns, ingress("b", "move.example", "/b", "auth-type: basic", "auth-secret: two"))
	cluster.MustApply(t, ns, ingress("c", "move.example", "/c", "auth-type: basic", "auth-secret: one"))
	for _, path := range []string{"/a", "/c"} {
		waitStatus(t, b, "move.example", path, "ann", "ann-pw", http.StatusOK, 30*time.Second)
	}
	waitStatus(t, b, "move.example", "/b", "ben", "ben-pw", http.StatusOK, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	start := b.Reloads(t)

	cluster.MustApply(t, ns, ingress("a", "move.example", "/a", "auth-type: basic", "auth-secret: two"))
	waitStatus(t, b, "move.example", "/a", "ben", "ben-pw", http.StatusOK, 30*time.Second)
	if got := get(t, b, "move.example", "/a", "ann", "ann-pw").Status; got != http.StatusUnauthorized {
		t.Errorf("ann on /a after the move to Secret two: status %d, want 401", got)
	}
	b.AssertReloads(t, start, 0, "moving an Ingress between userlists its backend checks")

	start = b.Reloads(t)
	putSecret(t, ns, "two", "ben:"+opensslHash(t, "-6", "ben-new"))
	waitStatus(t, b, "move.example", "/b", "ben", "ben-new", http.StatusOK, 30*time.Second)
	for _, path := range []string{"/a", "/b"} {
		if got := get(t, b, "move.example", path, "ben", "ben-pw").Status; got != http.StatusUnauthorized {
			t.Errorf("ben's old password on %s: status %d, want 401", path, got)
		}
	}
	if got := get(t, b, "move.example", "/c", "ann", "ann-pw").Status; got != http.StatusOK {
		t.Errorf("ann on /c: status %d, want 200", got)
	}
	b.AssertReloads(t, start, 1, "a changed auth Secret")
}
