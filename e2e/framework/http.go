package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Echo is the JSON answer of bin/echo.
type Echo struct {
	Path       string              `json:"path"`
	Host       string              `json:"host"`
	Method     string              `json:"method"`
	Proto      string              `json:"proto"`
	Headers    map[string][]string `json:"headers"`
	Namespace  string              `json:"namespace"`
	Ingress    string              `json:"ingress"`
	Service    string              `json:"service"`
	Pod        string              `json:"pod"`
	RemoteAddr string              `json:"remoteAddr"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 bool                `json:"bodyBase64,omitempty"`
	BodyBytes  int64               `json:"bodyBytes"`
	TLS        bool                `json:"tls"` // the connection to the backend was TLS
	SNI        string              `json:"sni"` // the server name the backend's TLS client sent
}

// Header returns the first value of a request header the backend saw.
func (e *Echo) Header(name string) string {
	if v := http.Header(e.Headers).Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Request is one HTTP request to an address, independent of DNS.
type Request struct {
	// Addr is host:port to connect to (a pod address or a proxy's listener).
	Addr   string
	Method string // default GET
	// Path is the request URI, "/" when empty.
	Path   string
	Host   string // Host header; Addr's host when empty
	Header http.Header
	Body   string
	// TLS makes it an HTTPS request; SNI defaults to Host without a port.
	TLS    bool
	SNI    string
	RootCA *x509.CertPool
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
	// ClientCert is presented for mutual TLS.
	ClientCert *tls.Certificate
	Timeout    time.Duration // default 5s
}

// Response is what came back.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	TLS     *tls.ConnectionState
	Elapsed time.Duration
}

// Echo decodes the body as an echo answer.
func (r *Response) Echo() (*Echo, error) {
	var e Echo
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return nil, fmt.Errorf("decode echo answer (status %d, body %.200q): %w", r.Status, r.Body, err)
	}
	return &e, nil
}

// Do sends one request on a fresh connection (no keep-alive, no proxy from the environment).
func Do(ctx context.Context, r Request) (*Response, error) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if r.Timeout == 0 {
		r.Timeout = 5 * time.Second
	}
	host := r.Host
	if host == "" {
		host = r.Addr
	}
	scheme := "http"
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r.Addr)
		},
		ForceAttemptHTTP2: r.TLS,
	}
	if r.TLS {
		scheme = "https"
		sni := r.SNI
		if sni == "" {
			sni = host
			if h, _, err := net.SplitHostPort(host); err == nil {
				sni = h
			}
		}
		tr.TLSClientConfig = &tls.Config{ServerName: sni, RootCAs: r.RootCA, InsecureSkipVerify: r.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // tests may opt in.
		if r.ClientCert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*r.ClientCert}
		}
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, scheme+"://"+r.Addr+r.Path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Host = host
	for k, v := range r.Header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s://%s%s (Host %s): %w", r.Method, scheme, r.Addr, r.Path, host, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, TLS: resp.TLS, Elapsed: time.Since(start)}, nil
}

// GetEcho sends r and decodes the echo answer, failing unless the status is 200.
func GetEcho(ctx context.Context, r Request) (*Echo, error) {
	resp, err := Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("%s%s: status %d: %.300s", r.Addr, r.Path, resp.Status, resp.Body)
	}
	return resp.Echo()
}
