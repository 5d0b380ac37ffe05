// Command testcluster runs a small real Kubernetes control plane for Bollard's tests and demo:
// etcd, kube-apiserver and kube-controller-manager on free loopback ports, plus a "netns
// kubelet" that runs an echo backend for every Pod in a network namespace of its own.
//
//	testcluster up     --state DIR [--subnet 198.18.0.0/24] [--bin-dir DIR] [--timeout 3m]
//	testcluster down   --state DIR [--subnet CIDR]
//	testcluster env    --state DIR
//	testcluster apiserver stop|start --state DIR [--grace 10s] [--timeout 2m]
//	testcluster kubelet --state DIR   (started by up)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/hack/testcluster/internal/cluster"
	"github.com/bollard-io/bollard/hack/testcluster/internal/kubelet"
	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

const usage = `usage: testcluster <command> [flags]

commands:
  up       start a cluster and wait until it is ready
  down     stop a cluster and remove its network namespace (idempotent)
  env      print the shell line that points kubectl at a cluster
  apiserver stop|start
           stop kube-apiserver alone, or start it again (fault tests)
  kubelet  run the netns kubelet of a cluster (up starts it)

run "testcluster <command> -h" for the flags of a command`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := run(log, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	if os.Getenv("TESTCLUSTER_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

func run(log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	if cmd == "apiserver" {
		return apiserver(log, args, stdout)
	}
	fs := flag.NewFlagSet("testcluster "+cmd, flag.ContinueOnError)
	stateDir := fs.String("state", "", "state directory of the cluster (required)")
	switch cmd {
	case "up":
		subnet := fs.String("subnet", "198.18.0.0/24", "IPv4 pod subnet inside 198.18.0.0/15; one per concurrent cluster")
		binDir := fs.String("bin-dir", "", "directory holding etcd, kube-apiserver, kube-controller-manager and echo (default: this binary's directory)")
		timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the cluster to be ready")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := required(fs, *stateDir); err != nil {
			return err
		}
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("locate own binary: %w", err)
		}
		if *binDir == "" {
			*binDir = filepath.Dir(self)
		}
		bd, err := filepath.Abs(*binDir)
		if err != nil {
			return fmt.Errorf("bin dir: %w", err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		start := time.Now()
		st, err := cluster.Up(ctx, log, cluster.UpOptions{
			StateDir: *stateDir, Subnet: *subnet, BinDir: bd, Self: self, Timeout: *timeout,
		})
		if err != nil {
			return fmt.Errorf("up: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "testcluster: up in %.1fs: api https://127.0.0.1:%d, subnet %s, netns %s\nexport KUBECONFIG=%s\n",
			time.Since(start).Seconds(), st.Ports.APIServer, st.Subnet, st.Netns, st.Kubeconfig)
		return err
	case "down":
		subnet := fs.String("subnet", "", "also remove the namespace and veth of this subnet when the state file is gone")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := required(fs, *stateDir); err != nil {
			return err
		}
		start := time.Now()
		if err := cluster.Down(context.Background(), log, cluster.DownOptions{StateDir: *stateDir, Subnet: *subnet}); err != nil {
			return fmt.Errorf("down: %w", err)
		}
		_, err := fmt.Fprintf(stdout, "testcluster: down in %.1fs\n", time.Since(start).Seconds())
		return err
	case "env":
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := required(fs, *stateDir); err != nil {
			return err
		}
		st, err := state.Load(*stateDir)
		if err != nil {
			return fmt.Errorf("env: no running cluster in %s: %w", *stateDir, err)
		}
		_, err = fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", st.Kubeconfig)
		return err
	case "kubelet":
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := required(fs, *stateDir); err != nil {
			return err
		}
		st, err := state.Load(*stateDir)
		if err != nil {
			return fmt.Errorf("kubelet: %w", err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := kubelet.Run(ctx, log.With("component", "kubelet"), st); err != nil {
			return fmt.Errorf("kubelet: %w", err)
		}
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// apiserver runs "testcluster apiserver stop|start --state DIR".
func apiserver(log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "stop" && args[0] != "start") {
		return errors.New("usage: testcluster apiserver stop|start --state DIR [--grace 10s] [--timeout 2m]")
	}
	action := args[0]
	fs := flag.NewFlagSet("testcluster apiserver "+action, flag.ContinueOnError)
	stateDir := fs.String("state", "", "state directory of the cluster (required)")
	timeout := fs.Duration("timeout", 2*time.Minute, "start: how long to wait for /readyz")
	grace := fs.Duration("grace", cluster.StopGrace, "stop: time between SIGTERM and SIGKILL")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := required(fs, *stateDir); err != nil {
		return err
	}
	start := time.Now()
	var err error
	if action == "stop" {
		err = cluster.StopAPIServer(context.Background(), log, *stateDir, *grace)
	} else {
		err = cluster.StartAPIServer(context.Background(), log, *stateDir, *timeout)
	}
	if err != nil {
		return fmt.Errorf("apiserver %s: %w", action, err)
	}
	_, err = fmt.Fprintf(stdout, "testcluster: kube-apiserver %s in %.1fs\n", map[string]string{"stop": "stopped", "start": "ready"}[action], time.Since(start).Seconds())
	return err
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %v", fs.Name(), fs.Args())
	}
	return nil
}

func required(fs *flag.FlagSet, stateDir string) error {
	if stateDir == "" {
		return fmt.Errorf("%s: --state DIR is required", fs.Name())
	}
	return nil
}
