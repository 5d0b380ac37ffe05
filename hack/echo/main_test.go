package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	id := identity{Namespace: "ns1", Pod: "web-abc", Service: "web", Ingress: "ing"}
	srv := httptest.NewServer(newHandler(id, http.StatusOK, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv
}

func TestEchoAnswersJSON(t *testing.T) {
	srv := newTestServer(t)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/a/b?c=d%20e", strings.NewReader("hello body"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "example.test"
	req.Header.Set("X-Test", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, ok := resp.Header["Server"]; ok {
		t.Errorf("answer carries a Server header: %q", resp.Header.Get("Server"))
	}
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	want := reply{Path: "/a/b?c=d%20e", Host: "example.test", Method: "POST", Proto: "HTTP/1.1",
		Namespace: "ns1", Pod: "web-abc", Service: "web", Ingress: "ing", Body: "hello body", BodyBytes: 10}
	if r.Path != want.Path || r.Host != want.Host || r.Method != want.Method || r.Proto != want.Proto ||
		r.Namespace != want.Namespace || r.Pod != want.Pod || r.Service != want.Service ||
		r.Ingress != want.Ingress || r.Body != want.Body || r.BodyBytes != want.BodyBytes {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if r.Headers["X-Test"][0] != "1" {
		t.Errorf("headers %v lack X-Test", r.Headers)
	}
}

func TestHealthStatusAndDelay(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		path   string
		status int
		min    time.Duration
	}{
		{"/health", 200, 0},
		{"/x?status=503", 503, 0},
		{"/x?delay=150ms", 200, 150 * time.Millisecond},
		{"/slow?delay=100ms", 200, 100 * time.Millisecond},
		{"/x?delay=bogus", 400, 0},
	} {
		start := time.Now()
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if d := time.Since(start); d < tc.min {
			t.Errorf("%s answered after %s, want at least %s", tc.path, d, tc.min)
		}
	}
}

func TestWebSocketEcho(t *testing.T) {
	srv := newTestServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The accept value of RFC 6455's own example.
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 300), strings.Repeat("y", 70000)} {
		if err := writeClientFrame(conn, opText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		fin, op, payload, err := readServerFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		if !fin || op != opText || string(payload) != msg {
			t.Fatalf("echo of %d bytes: fin %v op %d len %d", len(msg), fin, op, len(payload))
		}
	}
	if err := writeClientFrame(conn, opClose, []byte{0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if _, op, _, err := readServerFrame(br); err != nil || op != opClose {
		t.Fatalf("close: op %d err %v", op, err)
	}
}

func writeClientFrame(w io.Writer, op byte, payload []byte) error {
	hdr := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i := range payload {
		masked[i] = payload[i] ^ mask[i%4]
	}
	_, err := w.Write(append(hdr, masked...))
	return err
}

func readServerFrame(r *bufio.Reader) (bool, byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return false, 0, nil, err
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return hdr[0]&0x80 != 0, hdr[0] & 0x0f, p, err
}

// TestHealthStatusIsSettable: ECHO_HEALTH_STATUS (--health-status) makes
// /health fail, for active health-check tests; other paths still answer.
func TestHealthStatusIsSettable(t *testing.T) {
	srv := httptest.NewServer(newHandler(identity{Pod: "p"}, http.StatusInternalServerError, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	for path, want := range map[string]int{"/health": 500, "/x": 200} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
	if _, err := parseConfig([]string{"--health-status", "abc"}); err == nil {
		t.Error("--health-status abc was accepted")
	}
}
