package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// rawRequest sends a GET with the request line written as is (Go's client
// would clean or re-escape some of these paths) to Bollard's HTTP frontend.
func rawRequest(e *env, host, target string) (*framework.Response, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(e.b.Bind, strconv.Itoa(e.b.HTTP)), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s (Host %s): %w", target, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &framework.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// TestNormalizedRouting: equivalent forms of a request (merged slashes, dot
// segments, escaped unreserved characters, a trailing dot on the host) reach
// the /admin route's backend through the real controller and HAProxy, never
// the / route's, and that backend sees the normal form; ambiguous forms get
// 400. The healthy route keeps serving throughout.
func TestNormalizedRouting(t *testing.T) {
	framework.Need(t, cluster)
	e := newEnv(t)
	start, before := time.Now(), e.counters(t)
	cluster.Echo(t, e.ns, "admin", 1)
	cluster.Echo(t, e.ns, "root", 1)
	const host = "normalize.example"
	cluster.MustApply(t, e.ns, framework.IngressYAML("normalize", host,
		framework.Path{Path: "/admin", Type: "Prefix", Service: "admin"},
		framework.Path{Path: "/", Type: "Prefix", Service: "root"},
		// Written in a non-normal form: keyed by the normal one.
		framework.Path{Path: "/%7Euser", Type: "Prefix", Service: "admin"},
		framework.Path{Path: "/a//b", Type: "ImplementationSpecific", Service: "admin"},
	))
	e.b.WaitServed(t, host, "/admin/x", "admin", 30*time.Second)
	e.b.WaitServed(t, host, "/other", "root", 30*time.Second)

	cases := []struct {
		host, target string
		status       int
		service      string // "" for no backend
		path         string // what the backend must see
	}{
		{host, "//admin/x", 200, "admin", "/admin/x"},
		{host, "/./admin/x", 200, "admin", "/admin/x"},
		{host, "/x/../admin/x", 200, "admin", "/admin/x"},
		{host, "/%61dmin/x", 200, "admin", "/admin/x"},
		{host, "/%61%64min/x", 200, "admin", "/admin/x"},
		{host, "/%2e/admin//x", 200, "admin", "/admin/x"},
		{host + ".", "/admin/x", 200, "admin", "/admin/x"},
		{host + ".:80", "/admin/x", 200, "admin", "/admin/x"},
		{host, "/%7euser/x", 200, "admin", "/~user/x"},
		{host, "/~user/x", 200, "admin", "/~user/x"},
		{host, "/a/b", 200, "admin", "/a/b"},
		// Paths are case sensitive.
		{host, "/ADMIN/x", 200, "root", "/ADMIN/x"},
		// Two trailing dots are not the host: Bollard's 404.
		{host + "..", "/admin/x", 404, "", ""},
		{host, "/../admin/x", 400, "", ""},
		{host, "/admin%2Fx", 400, "", ""},
		{host, "/%zz/admin", 400, "", ""},
	}
	for _, c := range cases {
		resp, err := rawRequest(e, c.host, c.target)
		if err != nil {
			t.Errorf("Host %s GET %s: %v", c.host, c.target, err)
			continue
		}
		if resp.Status != c.status {
			t.Errorf("Host %s GET %s: status %d, want %d (body %.200q)", c.host, c.target, resp.Status, c.status, resp.Body)
			continue
		}
		if c.service == "" {
			if echo, err := resp.Echo(); err == nil {
				t.Errorf("Host %s GET %s: answered by the backend %q, want no backend", c.host, c.target, echo.Service)
			}
			continue
		}
		echo, err := resp.Echo()
		if err != nil {
			t.Errorf("Host %s GET %s: %v", c.host, c.target, err)
			continue
		}
		if echo.Service != c.service || echo.Path != c.path {
			t.Errorf("Host %s GET %s: served by %q with path %q, want %q with %q", c.host, c.target, echo.Service, echo.Path, c.service, c.path)
		}
		if strings.HasSuffix(echo.Host, ".") || strings.Contains(echo.Host, ".:") {
			t.Errorf("Host %s GET %s: the backend saw Host %q, want it without the trailing dot", c.host, c.target, echo.Host)
		}
	}
	time.Sleep(settle)
	e.quiet(t, start, before)
}
