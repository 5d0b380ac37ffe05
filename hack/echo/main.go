// Command echo is the test backend of Bollard's harness: it answers every request with a JSON
// description of what it received and of who it is (namespace, pod, service, ingress).
//
// Paths with a meaning of their own:
//
//	/health          200 "ok"
//	/ws              WebSocket echo (RFC 6455)
//	/slow            waits ?delay= (default 3s) before answering
//
// On any path, ?delay=200ms waits before answering and ?status=503 sets the status code.
// The response never carries a Server header.
package main

import (
	"context"
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
	"syscall"
	"time"
	"unicode/utf8"
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
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("echo failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	listen := fs.String("listen", envOr("ECHO_LISTEN", ":8080"), "address to listen on")
	var id identity
	fs.StringVar(&id.Namespace, "namespace", envOr("POD_NAMESPACE", ""), "namespace reported in answers")
	fs.StringVar(&id.Pod, "pod", envOr("POD_NAME", ""), "pod name reported in answers")
	fs.StringVar(&id.Service, "service", envOr("SERVICE_NAME", ""), "service name reported in answers")
	fs.StringVar(&id.Ingress, "ingress", envOr("INGRESS_NAME", ""), "ingress name reported in answers")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	log = log.With("pod", id.Pod, "namespace", id.Namespace)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           newHandler(id, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("echo listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("echo stopped")
	return nil
}

func newHandler(id identity, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(out, '\n'))
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
