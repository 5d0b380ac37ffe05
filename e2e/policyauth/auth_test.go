package policyauth

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBasicAuth: the routes of an Ingress with basic auth answer 401 with
// the realm without valid credentials, in every spelling of the path, and
// serve users of every accepted hash; a public Ingress on the same backend
// needs none; a Secret with an MD5 line leaves only its Ingress out, with
// a Warning naming the line; a changed Secret takes effect.
func TestBasicAuth(t *testing.T) {
	ns, b := cluster.Setup(t, "auth")
	cluster.Echo(t, ns, "app", 1)
	sha512, sha256 := opensslHash(t, "-6", "alice-pw"), opensslHash(t, "-5", "bob-pw")
	putSecret(t, ns, "users", "alice:"+sha512, "bob:"+sha256, "carol:"+bcryptSecret)
	cluster.MustApply(t, ns, ingress("public", "auth.example", "/"))
	cluster.MustApply(t, ns, ingress("secure", "auth.example", "/secure", "auth-type: basic", "auth-secret: users", "auth-realm: Bollard Test (e2e)"))
	b.WaitServed(t, "auth.example", "/", "app", 30*time.Second)
	waitStatus(t, b, "auth.example", "/secure", "", "", http.StatusUnauthorized, 30*time.Second)

	resp := get(t, b, "auth.example", "/secure/x", "", "")
	if got := resp.Header.Get("WWW-Authenticate"); resp.Status != http.StatusUnauthorized || got != `Basic realm="Bollard Test (e2e)"` {
		t.Errorf("without credentials: status %d, WWW-Authenticate %q", resp.Status, got)
	}
	for _, c := range []struct {
		user, password string
		want           int
	}{
		{"alice", "alice-pw", http.StatusOK}, // $6$
		{"bob", "bob-pw", http.StatusOK},     // $5$
		{"carol", "secret", http.StatusOK},   // bcrypt
		{"alice", "bob-pw", http.StatusUnauthorized},
		{"alice", "", http.StatusUnauthorized},
		{"mallory", "secret", http.StatusUnauthorized},
	} {
		resp := get(t, b, "auth.example", "/secure", c.user, c.password)
		if resp.Status != c.want {
			t.Errorf("%s with password %q: status %d, want %d", c.user, c.password, resp.Status, c.want)
			continue
		}
		if c.want != http.StatusOK {
			continue
		}
		// Forwarded, as ingress-nginx does (docs/annotations.md).
		echo, err := resp.Echo()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := echo.Header("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.password)); got != want {
			t.Errorf("%s: the backend saw Authorization %q, want %q", c.user, got, want)
		}
	}
	// Every spelling of the protected route still needs credentials.
	for _, form := range []struct{ host, path string }{
		{"auth.example", "//secure"}, {"auth.example", "/%73ecure"}, {"auth.example", "/secure/../secure/x"}, {"auth.example", "/./secure"},
		{"AUTH.example", "/secure"}, {"auth.example.", "/secure"}, {"auth.example", "/secure/"},
	} {
		if got := get(t, b, form.host, form.path, "", "").Status; got != http.StatusUnauthorized {
			t.Errorf("host %q path %q without credentials: status %d, want 401", form.host, form.path, got)
		}
	}
	if got := get(t, b, "auth.example", "/other", "", "").Status; got != http.StatusOK {
		t.Errorf("the public Ingress on the same backend: status %d, want 200", got)
	}

	// A Secret with an MD5 line: its Ingress is left out, the others serve.
	md5 := opensslHash(t, "-apr1", "secret")
	putSecret(t, ns, "md5", "alice:"+sha512, "mallory:"+md5)
	cluster.MustApply(t, ns, ingress("broken", "broken.example", "/", "auth-type: basic", "auth-secret: md5"))
	msg, err := cluster.WaitWarningReason(context.Background(), ns, "broken", "", `line 2 (user "mallory")`, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := "secret " + ns + "/md5"; !strings.Contains(msg, want) || !strings.Contains(msg, "MD5") || strings.Contains(msg, md5) {
		t.Errorf("warning %q: want the Secret %s, the line and MD5, not the hash", msg, want)
	}
	if got := get(t, b, "broken.example", "/", "alice", "alice-pw").Status; got != http.StatusNotFound {
		t.Errorf("the Ingress of the broken Secret: status %d, want 404 (left out)", got)
	}
	if got := get(t, b, "auth.example", "/secure", "alice", "alice-pw").Status; got != http.StatusOK {
		t.Errorf("after the broken Secret, alice on the good Ingress: status %d", got)
	}
	if got := get(t, b, "auth.example", "/secure", "", "").Status; got != http.StatusUnauthorized {
		t.Errorf("after the broken Secret, no credentials on the good Ingress: status %d", got)
	}

	// Fixing the Secret serves the Ingress; a changed Secret changes the users.
	putSecret(t, ns, "md5", "alice:"+sha512)
	waitStatus(t, b, "broken.example", "/", "alice", "alice-pw", http.StatusOK, 30*time.Second)
	if got := get(t, b, "broken.example", "/", "", "").Status; got != http.StatusUnauthorized {
		t.Errorf("the fixed Ingress without credentials: status %d, want 401", got)
	}
	putSecret(t, ns, "users", "dave:"+opensslHash(t, "-6", "dave-pw"))
	waitStatus(t, b, "auth.example", "/secure", "dave", "dave-pw", http.StatusOK, 30*time.Second)
	if got := get(t, b, "auth.example", "/secure", "alice", "alice-pw").Status; got != http.StatusUnauthorized {
		t.Errorf("alice after her removal from the Secret: status %d, want 401", got)
	}
}
