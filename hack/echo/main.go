// Command echo is the test backend of Bollard's harness: it answers every request with a JSON
// description of what it received and of who it is (namespace, pod, service, ingress).
//
// One listening port serves every protocol. The first byte of each connection decides:
// 0x16 starts TLS (only when a certificate is configured; ALPN offers h2 and http/1.1),
// anything else is plaintext HTTP/1.1 or HTTP/2 with prior knowledge (h2c). Without a
// certificate a TLS ClientHello is read as plaintext and fails as a malformed request.
// The reply's proto field shows what arrived (HTTP/1.1, HTTP/2.0), tls whether the
// connection was TLS (present only when it was) and sni the server name the client sent
// ("" when none).
//
// HTTP/2 requests with content-type application/grpc go to a gRPC server (over h2c and over
// TLS) that serves the standard health service grpc.health.v1.Health, answering SERVING for
// the whole server (service "") unless told otherwise.
//
// Paths with a meaning of their own:
//
//	/health          200 "ok"
//	/ws              WebSocket echo (RFC 6455, HTTP/1.1 only)
//	/slow            waits ?delay= (default 3s) before answering
//
// On any path, ?delay=200ms waits before answering and ?status=503 sets the status code.
// The response never carries a Server header.
//
// Configuration (flags win over the environment):
//
//	--listen         ECHO_LISTEN          address to listen on (default :8080)
//	--tls-cert-file  ECHO_TLS_CERT        certificate chain: a PEM file, or the PEM text in the env
//	--tls-key-file   ECHO_TLS_KEY         private key: a PEM file, or the PEM text in the env
//	--grpc-health    ECHO_GRPC_HEALTH     gRPC health status: SERVING (default), NOT_SERVING, ...
//	--health-status  ECHO_HEALTH_STATUS   HTTP status of /health (default 200)
//	--namespace, --pod, --service, --ingress   POD_NAMESPACE, POD_NAME, SERVICE_NAME, INGRESS_NAME
//
// The netns kubelet of the test cluster passes a Pod container's literal env values whose
// names start with ECHO_ to the echo process, so tests configure TLS and gRPC health per Pod.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	maxEchoedBody = 1 << 20
	maxDelay      = 60 * time.Second
	slowDefault   = 3 * time.Second
)

// identity is who this backend is; the netns kubelet fills it from the Pod's metadata.
type identity struct {
	Namespace string
	Pod       string
	Service   string
	Ingress   string
}

// reply is the JSON body of every answer except /health and /ws.
type reply struct {
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
	// TLS is left out when false: the Gateway API conformance suite decodes "tls" as an
	// object, and a false there fails every answer it reads.
	TLS bool   `json:"tls,omitempty"`
	SNI string `json:"sni"`
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log, os.Args[1:], nil); err != nil {
		log.Error("echo failed", "err", err)
		os.Exit(1)
	}
}

// config is what run parsed from its flags and the environment.
type config struct {
	listen string
	id     identity
	tls    *tls.Config // nil: TLS off
	health healthpb.HealthCheckResponse_ServingStatus
	// healthStatus is the HTTP status of /health (active health checks).
	healthStatus int
}

func parseConfig(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.StringVar(&cfg.listen, "listen", envOr("ECHO_LISTEN", ":8080"), "address to listen on")
	fs.StringVar(&cfg.id.Namespace, "namespace", envOr("POD_NAMESPACE", ""), "namespace reported in answers")
	fs.StringVar(&cfg.id.Pod, "pod", envOr("POD_NAME", ""), "pod name reported in answers")
	fs.StringVar(&cfg.id.Service, "service", envOr("SERVICE_NAME", ""), "service name reported in answers")
	fs.StringVar(&cfg.id.Ingress, "ingress", envOr("INGRESS_NAME", ""), "ingress name reported in answers")
	certFile := fs.String("tls-cert-file", "", "PEM certificate chain for TLS (default: the PEM text in $ECHO_TLS_CERT)")
	keyFile := fs.String("tls-key-file", "", "PEM private key for TLS (default: the PEM text in $ECHO_TLS_KEY)")
	health := fs.String("grpc-health", envOr("ECHO_GRPC_HEALTH", "SERVING"), "status of the gRPC health service")
	healthStatus := fs.String("health-status", envOr("ECHO_HEALTH_STATUS", "200"), "HTTP status of /health")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("parse flags: %w", err)
	}
	var err error
	if cfg.healthStatus, err = strconv.Atoi(*healthStatus); err != nil || cfg.healthStatus < 100 || cfg.healthStatus > 599 {
		return config{}, fmt.Errorf("health status %q is not an HTTP status", *healthStatus)
	}
	if cfg.health, err = parseHealthStatus(*health); err != nil {
		return config{}, err
	}
	if cfg.tls, err = loadTLS(*certFile, *keyFile); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// loadTLS reads the certificate and key from the files, or else from $ECHO_TLS_CERT and
// $ECHO_TLS_KEY (PEM text); it returns nil when neither is set.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	var certPEM, keyPEM []byte
	switch {
	case certFile != "" || keyFile != "":
		if certFile == "" || keyFile == "" {
			return nil, errors.New("--tls-cert-file and --tls-key-file go together")
		}
		var err error
		if certPEM, err = os.ReadFile(certFile); err != nil {
			return nil, fmt.Errorf("read TLS certificate: %w", err)
		}
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return nil, fmt.Errorf("read TLS key: %w", err)
		}
	case os.Getenv("ECHO_TLS_CERT") != "" || os.Getenv("ECHO_TLS_KEY") != "":
		certPEM, keyPEM = []byte(os.Getenv("ECHO_TLS_CERT")), []byte(os.Getenv("ECHO_TLS_KEY"))
		if len(certPEM) == 0 || len(keyPEM) == 0 {
			return nil, errors.New("ECHO_TLS_CERT and ECHO_TLS_KEY go together")
		}
	default:
		return nil, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// run serves until ctx ends; started, when set, learns the listening address.
func run(ctx context.Context, log *slog.Logger, args []string, started func(net.Addr)) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	log = log.With("pod", cfg.id.Pod, "namespace", cfg.id.Namespace)

	inner, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	ln := newSniffListener(inner, cfg.tls)
	gs := newGRPCServer(cfg.health)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           withGRPC(gs, newHandler(cfg.id, cfg.healthStatus, log)),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("echo listening", "addr", ln.Addr().String(), "tls", cfg.tls != nil, "grpcHealth", cfg.health.String())
	if started != nil {
		started(ln.Addr())
	}
	select {
	case err := <-errc:
		gs.Stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// gRPC streams (health Watch) would hold Shutdown until its deadline: end them first.
	gs.Stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("echo stopped")
	return nil
}

func newHandler(id identity, healthStatus int, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(healthStatus)
		_, _ = io.WriteString(w, http.StatusText(healthStatus)+"\n")
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if err := serveWebSocket(w, r, id); err != nil {
			log.Info("websocket ended", "err", err)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		serveEcho(w, r, id, log)
	})
	return mux
}

// requestDelay returns the delay the request asks for through ?delay= or the /slow path.
func requestDelay(r *http.Request) (time.Duration, error) {
	d := time.Duration(0)
	if r.URL.Path == "/slow" {
		d = slowDefault
	}
	if s := r.URL.Query().Get("delay"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad delay %q", s)
		}
		d = v
	}
	return min(d, maxDelay), nil
}

func serveEcho(w http.ResponseWriter, r *http.Request, id identity, log *slog.Logger) {
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 200 || v > 599 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		status = v
	}
	delay, err := requestDelay(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, n, err := readBody(r.Body)
	if err != nil {
		log.Info("reading request body failed", "err", err)
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	rep := reply{
		Path: r.RequestURI, Host: r.Host, Method: r.Method, Proto: r.Proto,
		Headers: r.Header, Namespace: id.Namespace, Ingress: id.Ingress,
		Service: id.Service, Pod: id.Pod, RemoteAddr: r.RemoteAddr, BodyBytes: n,
	}
	if r.TLS != nil {
		rep.TLS, rep.SNI = true, r.TLS.ServerName
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			rep.Body = string(body)
		} else {
			rep.Body, rep.BodyBase64 = encodeBase64(body), true
		}
	}
	out, err := json.Marshal(rep)
	if err != nil {
		http.Error(w, "encode reply", http.StatusInternalServerError)
		return
	}
	setRequestedHeaders(w.Header(), r.Header.Values("X-Echo-Set-Header"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(out, '\n'))
}

// setRequestedHeaders adds the response headers a client asked for in
// X-Echo-Set-Header ("Name:value, Other:value"), as the Gateway API
// conformance suite's echo backend does: its response-header tests ask
// the backend for headers that the route then sets, adds or removes.
func setRequestedHeaders(h http.Header, requests []string) {
	for _, list := range requests {
		for _, pair := range strings.Split(list, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), ":")
			if !ok || name == "" {
				continue
			}
			h.Add(name, strings.TrimSpace(value))
		}
	}
}

// readBody reads the whole request body, keeps its first maxEchoedBody bytes and counts the rest.
func readBody(rc io.Reader) ([]byte, int64, error) {
	body, err := io.ReadAll(io.LimitReader(rc, maxEchoedBody))
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	rest, err := io.Copy(io.Discard, rc)
	if err != nil {
		return nil, 0, fmt.Errorf("drain body: %w", err)
	}
	return body, int64(len(body)) + rest, nil
}
