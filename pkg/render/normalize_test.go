package render_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// rawGet sends one HTTP/1.1 request with the request line written as is:
// Go's client would clean or re-escape some of the paths under test.
func rawGet(t *testing.T, base, host, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", target, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestNormalisedRouting: equivalent forms of a request reach the route of
// their normal form, and the backend sees that form; ambiguous ones get 400.
func TestNormalisedRouting(t *testing.T) {
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.Issue([]string{"host.example"}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	redir, err := tlscert.Issue([]string{"redir.example"}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	snap := routingFixture(t, "admin", "root", "user", "ab", "catch-all", "redir")
	snap.Secrets = append(snap.Secrets, mt.TLSSecret("default", "tls", pair.CertPEM, pair.KeyPEM),
		mt.TLSSecret("default", "redir", redir.CertPEM, redir.KeyPEM))
	snap.Ingresses = append(snap.Ingresses,
		// The HTTPS redirect is a per-host policy: every form of the host
		// gets it.
		mt.Ingress("default", "redir", mt.TLS("redir", "redir.example"), mt.Rule("redir.example", mt.Path("Prefix", "/", "redir", 80))),
		mt.Ingress("default", "site", mt.TLS("tls", "host.example"), mt.Annotation(model.AnnotationSSLRedirect, "false"),
			mt.Rule("host.example",
				mt.Path("Prefix", "/admin", "admin", 80),
				mt.Path("Prefix", "/", "root", 80),
				mt.Path("Prefix", "/%7Euser", "user", 80),
				mt.Path("Exact", "/a//b", "ab", 80),
			)),
		mt.Ingress("default", "catch-all", mt.DefaultBackend("catch-all", 80)),
	)
	inst := startHAProxy(t, snap, testOptions(t))

	cases := []struct {
		host, target string
		status       int
		body         string // backend name and the path it saw
	}{
		{"host.example", "/admin/x", 200, "admin /admin/x"},
		{"host.example", "//admin/x", 200, "admin /admin/x"},
		{"host.example", "/./admin/x", 200, "admin /admin/x"},
		{"host.example", "/x/../admin/x", 200, "admin /admin/x"},
		{"host.example", "/%61dmin/x", 200, "admin /admin/x"},
		{"host.example", "/%61%64min/x", 200, "admin /admin/x"},
		{"host.example", "/%2E/admin/%2e%2E/admin/x", 200, "admin /admin/x"},
		{"host.example", "/x/..//admin", 200, "admin /admin"},
		{"host.example", "/./admin/x?q=/../%2f", 200, "admin /admin/x?q=/../%2F"},
		{"host.example.", "/admin/x", 200, "admin /admin/x"},
		{"HOST.example.:8080", "/admin/x", 200, "admin /admin/x"},
		{"host.example:8080", "/admin/x", 200, "admin /admin/x"},
		// Paths are case sensitive: /ADMIN is not /admin.
		{"host.example", "/ADMIN", 200, "root /ADMIN"},
		{"host.example", "/%41DMIN", 200, "root /ADMIN"},
		{"host.example", "/adminx", 200, "root /adminx"},
		// Routes written in a non-normal form meet their requests.
		{"host.example", "/~user/x", 200, "user /~user/x"},
		{"host.example", "/%7euser/x", 200, "user /~user/x"},
		{"host.example", "/a/b", 200, "ab /a/b"},
		{"host.example", "/a//b", 200, "ab /a/b"},
		{"redir.example", "/x", 308, ""},
		{"REDIR.Example.", "/x", 308, ""},
		{"redir.example.:8080", "//x", 308, ""},
		// One trailing dot only: two leave the host unknown.
		{"host.example..", "/admin/x", 200, "catch-all /admin/x"},
		// Ambiguous: 400 before any backend.
		{"host.example", "/../x", 400, ""},
		{"host.example", "/..", 400, ""},
		{"host.example", "/a/../../admin", 400, ""},
		{"host.example", "/%2e%2e/admin", 400, ""},
		{"host.example", "/admin%2Fx", 400, ""},
		{"host.example", "/x%2fadmin", 400, ""},
		{"host.example", "/%zz/admin", 400, ""},
		{"host.example", "/admin/%", 400, ""},
		{"host.example", "/a//b?q=%zz", 400, ""},
	}
	for _, c := range cases {
		status, body := rawGet(t, inst.HTTP, c.host, c.target)
		if status != c.status || c.body != "" && body != c.body {
			t.Errorf("Host %s GET %s: %d %q, want %d %q", c.host, c.target, status, body, c.status, c.body)
		}
	}

	// HTTP/2 carries the path in :path; the same rules apply on the https
	// frontend. Go's client sends these paths unchanged.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "host.example"}, ForceAttemptHTTP2: true}}
	for _, path := range []string{"//admin/x", "/%61dmin/x", "/x/../admin/x"} {
		got := haproxytest.Do(t, client, http.MethodGet, inst.HTTPS, "host.example", path)
		if got.Status != 200 || got.Body != "admin /admin/x" || got.TLS == nil || got.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("HTTPS h2 %s: %d %q, want admin /admin/x over h2", path, got.Status, got.Body)
		}
	}
	if got := haproxytest.Do(t, client, http.MethodGet, inst.HTTPS, "host.example", "/admin%2Fx"); got.Status != 400 {
		t.Errorf("HTTPS h2 /admin%%2Fx: %d %q, want 400", got.Status, got.Body)
	}
}

// TestNormalisationMatchesHAProxy sends generated paths through HAProxy and
// checks that model.NormalizePath, by which routes are keyed, gives what the
// backend sees, and fails exactly on the paths HAProxy answers with 400.
func TestNormalisationMatchesHAProxy(t *testing.T) {
	snap := routingFixture(t, "echo")
	snap.Ingresses = append(snap.Ingresses, mt.Ingress("default", "echo", mt.DefaultBackend("echo", 80)))
	inst := startHAProxy(t, snap, testOptions(t))

	parts := []string{"", ".", "..", "...", ".a", "a", "B", "%2e", "%2E%2e", "%61", "%7e", "%3a", "%2f", "%25", "%zz", "%", "%4"}
	rng := rand.New(rand.NewPCG(12, 2026)) // fixed: the same paths every run
	seen := map[string]bool{}
	for len(seen) < 300 {
		var b strings.Builder
		for range 1 + rng.IntN(5) {
			b.WriteString("/" + parts[rng.IntN(len(parts))])
		}
		path := b.String()
		if seen[path] {
			continue
		}
		seen[path] = true
		want, err := model.NormalizePath(path)
		status, body := rawGet(t, inst.HTTP, "any.example", path)
		switch {
		case err != nil && status != 400:
			t.Errorf("GET %s: %d %q; NormalizePath failed (%v), so HAProxy must answer 400", path, status, body, err)
		case err == nil && (status != 200 || body != "echo "+want):
			t.Errorf("GET %s: %d %q; NormalizePath gives %q", path, status, body, want)
		}
		if err != nil && !errors.Is(err, model.ErrAboveRoot) && !errors.Is(err, model.ErrEncodedSlash) && !errors.Is(err, model.ErrBadEscape) {
			t.Errorf("NormalizePath(%q): unexpected error %v", path, err)
		}
	}
}
