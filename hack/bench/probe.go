package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// PolicyHeader is the response header P7's route policy sets.
const PolicyHeader = "X-Policy"

// Reply is what the benchmark needs of an answer: the status, for a 200
// from bin/echo which pod and service answered, and the X-Policy header
// that P7's route policy sets.
type Reply struct {
	Status  int
	Pod     string
	Service string
	Policy  string
}

// RequestError is a failed request, with the stage it failed in.
type RequestError struct {
	Stage string // dial, write, read
	Err   error
}

func (e *RequestError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Kind classifies a request error for the error-by-kind counts of P4:
// stage and cause, such as "read:reset" or "dial:refused".
func Kind(err error) string {
	var re *RequestError
	stage := "other"
	if errors.As(err, &re) {
		stage = re.Stage
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return stage + ":refused"
	case errors.Is(err, syscall.ECONNRESET):
		return stage + ":reset"
	case errors.Is(err, syscall.EPIPE):
		return stage + ":broken-pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return stage + ":eof"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return stage + ":timeout"
	}
	return stage + ":other"
}

// requestLine builds a GET request; close asks for Connection: close.
func requestLine(host, path string, close bool) []byte {
	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(host)
	b.WriteString("\r\nUser-Agent: bollard-bench\r\n")
	if close {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// readReply reads one response and decodes the echo identity of a 200.
func readReply(br *bufio.Reader) (Reply, bool, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return Reply{}, true, &RequestError{Stage: "read", Err: err}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return Reply{}, true, &RequestError{Stage: "read", Err: err}
	}
	r := Reply{Status: resp.StatusCode, Policy: resp.Header.Get(PolicyHeader)}
	if resp.StatusCode == http.StatusOK {
		var e struct {
			Pod     string `json:"pod"`
			Service string `json:"service"`
		}
		if json.Unmarshal(body, &e) == nil {
			r.Pod, r.Service = e.Pod, e.Service
		}
	}
	return r, resp.Close, nil
}

// GetOnce sends one GET on a new connection (Connection: close), with no
// retry and no proxy.
func GetOnce(addr, host, path string, timeout time.Duration) (Reply, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return Reply{}, &RequestError{Stage: "dial", Err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(requestLine(host, path, true)); err != nil {
		return Reply{}, &RequestError{Stage: "write", Err: err}
	}
	r, _, err := readReply(bufio.NewReader(conn))
	return r, err
}

// KeepAlive is one persistent HTTP/1.1 connection that never retries: a
// request that fails on it is an error, and the next request dials anew.
// A response with Connection: close is not an error.
type KeepAlive struct {
	Addr    string
	Timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
}

// Get sends one GET on the kept connection.
func (k *KeepAlive) Get(host, path string) (Reply, error) {
	if k.conn == nil {
		conn, err := net.DialTimeout("tcp", k.Addr, k.Timeout)
		if err != nil {
			return Reply{}, &RequestError{Stage: "dial", Err: err}
		}
		k.conn, k.br = conn, bufio.NewReader(conn)
	}
	_ = k.conn.SetDeadline(time.Now().Add(k.Timeout))
	if _, err := k.conn.Write(requestLine(host, path, false)); err != nil {
		k.Close()
		return Reply{}, &RequestError{Stage: "write", Err: err}
	}
	r, closed, err := readReply(k.br)
	if err != nil || closed {
		k.Close()
	}
	return r, err
}

// Close closes the kept connection, if any.
func (k *KeepAlive) Close() {
	if k.conn != nil {
		_ = k.conn.Close()
		k.conn, k.br = nil, nil
	}
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections after %s: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
