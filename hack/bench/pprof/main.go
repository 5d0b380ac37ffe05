// Command pprof is bin/bollard with net/http/pprof, for profiling the
// controller under the benchmark without a flag in the product:
//
//	go build -o bin/bollard ./hack/bench/pprof   # in place of make build
//	BOLLARD_PPROF_ADDRESS=127.0.0.1:6060 …       # default: an ephemeral port, logged
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30
//
// `make build` puts the real binary back.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/pkg/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(os.Getenv("BOLLARD_PPROF_ADDRESS")); err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
	}
	if err := cli.NewRootCommand(os.Stdin, os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		stop()
		os.Exit(1)
	}
}

// serve listens on addr (an ephemeral loopback port when empty) and writes
// the address to $TMPDIR/bollard-pprof-<pid>.addr.
func serve(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	file := filepath.Join(os.TempDir(), fmt.Sprintf("bollard-pprof-%d.addr", os.Getpid()))
	return os.WriteFile(file, []byte(l.Addr().String()+"\n"), 0o644)
}
