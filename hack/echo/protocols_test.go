package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// testCert is a self-signed certificate for echo.test and 127.0.0.1, made for one test.
type testCert struct {
	certPEM, keyPEM string
	pool            *x509.CertPool
}

func newTestCert(t *testing.T) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "echo.test"},
		DNSNames:              []string{"echo.test", "*.echo.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCert{
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		pool:    pool,
	}
}

// startEcho runs the whole echo command on a loopback port with env set (the ECHO_
// variables not in env are cleared) and returns its address.
func startEcho(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	for _, k := range []string{"ECHO_LISTEN", "ECHO_TLS_CERT", "ECHO_TLS_KEY", "ECHO_GRPC_HEALTH"} {
		t.Setenv(k, env[k])
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--namespace", "ns1", "--pod", "web-abc"}, args...)
	go func() {
		errc <- run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), args, func(a net.Addr) { addrc <- a.String() })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return a
	case err := <-errc:
		cancel()
		errc <- err // for the cleanup
		t.Fatalf("run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("echo did not start")
	}
	return ""
}

// getEcho sends GET path through client and decodes the reply.
func getEcho(t *testing.T, client *http.Client, url string) reply {
	t.Helper()
	t.Cleanup(client.CloseIdleConnections) // before the server's shutdown, which waits for them
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Proto != resp.Proto {
		t.Errorf("reply proto %q, response arrived as %q", r.Proto, resp.Proto)
	}
	return r
}

func tlsClient(tc *tls.Config, protos http.Protocols) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Protocols: &protos}}
}

func tlsEnv(c testCert) map[string]string {
	return map[string]string{"ECHO_TLS_CERT": c.certPEM, "ECHO_TLS_KEY": c.keyPEM}
}

func TestTLSReportsProtoAndSNI(t *testing.T) {
	cert := newTestCert(t)
	addr := startEcho(t, tlsEnv(cert))
	_, port, _ := net.SplitHostPort(addr)
	var h1, h2 http.Protocols
	h1.SetHTTP1(true)
	h2.SetHTTP2(true)
	for _, tc := range []struct {
		name      string
		host      string // dialled name; an IP literal sends no SNI
		protos    http.Protocols
		wantProto string
		wantSNI   string
	}{
		{"http1 with SNI", "echo.test", h1, "HTTP/1.1", "echo.test"},
		{"h2 with SNI", "a.echo.test", h2, "HTTP/2.0", "a.echo.test"},
		{"h2 without SNI", "127.0.0.1", h2, "HTTP/2.0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := tlsClient(&tls.Config{RootCAs: cert.pool, MinVersion: tls.VersionTLS12}, tc.protos)
			client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			r := getEcho(t, client, "https://"+net.JoinHostPort(tc.host, port)+"/x?y=1")
			if !r.TLS || r.SNI != tc.wantSNI || r.Proto != tc.wantProto || r.Path != "/x?y=1" || r.Pod != "web-abc" {
				t.Errorf("got tls=%v sni=%q proto=%q path=%q pod=%q, want tls=true sni=%q proto=%q",
					r.TLS, r.SNI, r.Proto, r.Path, r.Pod, tc.wantSNI, tc.wantProto)
			}
		})
	}
	// Plaintext HTTP/1.1 shares the port.
	r := getEcho(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/plain")
	if r.TLS || r.SNI != "" || r.Proto != "HTTP/1.1" {
		t.Errorf("plaintext: tls=%v sni=%q proto=%q", r.TLS, r.SNI, r.Proto)
	}
}

func TestH2CPriorKnowledge(t *testing.T) {
	addr := startEcho(t, nil)
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &h2c}}
	r := getEcho(t, client, "http://"+addr+"/h2c?status=200")
	if r.Proto != "HTTP/2.0" || r.TLS || r.SNI != "" || r.Path != "/h2c?status=200" {
		t.Errorf("h2c: proto=%q tls=%v sni=%q path=%q", r.Proto, r.TLS, r.SNI, r.Path)
	}
	resp, err := client.Get("http://" + addr + "/x?status=503")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 503 || resp.ProtoMajor != 2 {
		t.Errorf("h2c ?status=503: %d over %s", resp.StatusCode, resp.Proto)
	}
	// HTTP/1.1 on the same port.
	r = getEcho(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/h1")
	if r.Proto != "HTTP/1.1" || r.TLS {
		t.Errorf("http1: proto=%q tls=%v", r.Proto, r.TLS)
	}
}

func TestTLSOffReadsHandshakeAsPlaintext(t *testing.T) {
	addr := startEcho(t, nil)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, ServerName: "echo.test"}) //nolint:gosec // expected to fail anyway.
	if err == nil {
		_ = conn.Close()
		t.Fatal("TLS handshake succeeded without a certificate")
	}
	r := getEcho(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/after")
	if r.Proto != "HTTP/1.1" || r.TLS {
		t.Errorf("after a failed handshake: proto=%q tls=%v", r.Proto, r.TLS)
	}
}

func grpcHealth(t *testing.T, addr string, creds credentials.TransportCredentials) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return 0, err
	}
	return resp.GetStatus(), nil
}

func TestGRPCHealth(t *testing.T) {
	cert := newTestCert(t)
	tlsCreds := credentials.NewTLS(&tls.Config{RootCAs: cert.pool, ServerName: "echo.test", MinVersion: tls.VersionTLS12})
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		creds  credentials.TransportCredentials
		status healthpb.HealthCheckResponse_ServingStatus
	}{
		{"h2c", nil, nil, insecure.NewCredentials(), healthpb.HealthCheckResponse_SERVING},
		{"tls", tlsEnv(cert), nil, tlsCreds, healthpb.HealthCheckResponse_SERVING},
		{"h2c NOT_SERVING from env", map[string]string{"ECHO_GRPC_HEALTH": "NOT_SERVING"}, nil,
			insecure.NewCredentials(), healthpb.HealthCheckResponse_NOT_SERVING},
		{"tls NOT_SERVING from flag", tlsEnv(cert), []string{"--grpc-health", "not_serving"}, tlsCreds,
			healthpb.HealthCheckResponse_NOT_SERVING},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startEcho(t, tc.env, tc.args...)
			got, err := grpcHealth(t, addr, tc.creds)
			if err != nil || got != tc.status {
				t.Errorf("health check: %v %v, want %v", got, err, tc.status)
			}
			// The same port still echoes HTTP/1.1.
			r := getEcho(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/")
			if r.Proto != "HTTP/1.1" {
				t.Errorf("http1 after gRPC: proto %q", r.Proto)
			}
		})
	}
}

func TestBadConfiguration(t *testing.T) {
	cert := newTestCert(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"cert without key", map[string]string{"ECHO_TLS_CERT": cert.certPEM}, nil, "go together"},
		{"key file without cert file", nil, []string{"--tls-key-file", "/nonexistent"}, "go together"},
		{"bad pem", map[string]string{"ECHO_TLS_CERT": "x", "ECHO_TLS_KEY": "y"}, nil, "key pair"},
		{"bad health", map[string]string{"ECHO_GRPC_HEALTH": "MAYBE"}, nil, "gRPC health status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"ECHO_TLS_CERT", "ECHO_TLS_KEY", "ECHO_GRPC_HEALTH"} {
				t.Setenv(k, tc.env[k])
			}
			_, err := parseConfig(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestWebSocketThroughListener runs the WebSocket echo through the sniffing listener, in
// plaintext and over TLS (ALPN http/1.1).
func TestWebSocketThroughListener(t *testing.T) {
	cert := newTestCert(t)
	addr := startEcho(t, tlsEnv(cert))
	for _, useTLS := range []bool{false, true} {
		var conn net.Conn
		var err error
		if useTLS {
			conn, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: cert.pool, ServerName: "echo.test",
				NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
		} else {
			conn, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		wsRoundTrip(t, conn)
		_ = conn.Close()
	}
}

func wsRoundTrip(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("X-Echo-Pod") != "web-abc" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	if err := writeClientFrame(conn, opText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, op, p, err := readServerFrame(br); err != nil || op != opText || string(p) != "hi" {
		t.Fatalf("echo: op %d %q %v", op, p, err)
	}
}

// TestListenerSkipsSilentConnections checks that a connection that never sends a byte
// does not hold up the next one.
func TestListenerSkipsSilentConnections(t *testing.T) {
	addr := startEcho(t, nil)
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = silent.Close() }()
	closed, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	r := getEcho(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/next")
	if r.Path != "/next" {
		t.Errorf("path %q", r.Path)
	}
}
