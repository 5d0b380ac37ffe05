package options

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestProxyBodySize: a body over proxy-body-size gets 413, announced by
// Content-Length or sent chunked; a smaller one passes; a changed limit
// needs no reload.
func TestProxyBodySize(t *testing.T) {
	ns, b := cluster.Setup(t, "body")
	cluster.Echo(t, ns, "upload", 1)
	cluster.MustApply(t, ns, ingressWith("upload", "upload.example", "upload", map[string]string{"proxy-body-size": "1k"}))
	b.WaitServed(t, "upload.example", "/", "upload", 20*time.Second)
	start := b.Reloads(t)

	post := func(size int) int {
		r := b.Request("upload.example", "/")
		r.Method, r.Body = http.MethodPost, strings.Repeat("x", size)
		return status(t, r)
	}
	for _, c := range []struct{ size, want int }{{1024, 200}, {1025, 413}, {500, 200}, {20000, 413}} {
		if got := post(c.size); got != c.want {
			t.Errorf("limit 1k, Content-Length %d: status %d, want %d", c.size, got, c.want)
		}
		if got := postChunked(t, b, "upload.example", c.size); got != c.want {
			t.Errorf("limit 1k, chunked body of %d bytes: status %d, want %d", c.size, got, c.want)
		}
	}
	if got := status(t, b.Request("upload.example", "/")); got != http.StatusOK {
		t.Errorf("GET without a body: status %d, want 200", got)
	}
	// The limit belongs to the backend the request is routed to, so every
	// spelling of the same route gets it.
	for _, form := range []struct{ host, path string }{
		{"UPLOAD.example", "/"}, {"upload.example.", "/"}, {"upload.example", "//x/./y/../"}, {"upload.example", "/%78"},
	} {
		r := b.Request(form.host, form.path)
		r.Method, r.Body = http.MethodPost, strings.Repeat("x", 1025)
		if got := status(t, r); got != http.StatusRequestEntityTooLarge {
			t.Errorf("limit 1k, Content-Length 1025 to host %q path %q: status %d, want 413", form.host, form.path, got)
		}
	}

	cluster.MustApply(t, ns, ingressWith("upload", "upload.example", "upload", map[string]string{"proxy-body-size": "8m"}))
	r := b.Request("upload.example", "/")
	r.Method, r.Body = http.MethodPost, strings.Repeat("x", 20000)
	waitStatus(t, r, http.StatusOK, 20*time.Second)
	if got := postChunked(t, b, "upload.example", 20000); got != http.StatusOK {
		t.Errorf("limit 8m, chunked body of 20000 bytes: status %d, want 200", got)
	}
	// HAProxy answers from the announced length, before the body: the
	// client sends only the head.
	if got := postAnnounced(t, b, "upload.example", 8<<20+1); got != http.StatusRequestEntityTooLarge {
		t.Errorf("limit 8m, Content-Length 8m+1: status %d, want 413", got)
	}
	b.AssertReloads(t, start, 0, "proxy-body-size 1k → 8m")
}

// postAnnounced sends a POST head announcing a body of length bytes, and
// returns the status of the answer that comes before any body byte.
func postAnnounced(t *testing.T, b *framework.Bollard, host string, length int) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", b.Request(host, "/").Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", host, length)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer to an announced body of %d bytes: %v", length, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// postChunked sends a POST whose body of size bytes is chunked (no
// Content-Length), in chunks of 700 bytes, and returns the status.
func postChunked(t *testing.T, b *framework.Bollard, host string, size int) int {
	t.Helper()
	addr := b.Request(host, "/").Addr
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST / HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", host)
	for left := size; left > 0; {
		n := min(left, 700)
		fmt.Fprintf(w, "%x\r\n%s\r\n", n, strings.Repeat("y", n))
		left -= n
	}
	w.WriteString("0\r\n\r\n")
	if err := w.Flush(); err != nil {
		t.Fatalf("send chunked body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer to a chunked body: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
