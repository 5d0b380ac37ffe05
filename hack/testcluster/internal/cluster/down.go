package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/bollard-io/bollard/hack/testcluster/internal/netns"
	"github.com/bollard-io/bollard/hack/testcluster/internal/preflight"
	"github.com/bollard-io/bollard/hack/testcluster/internal/proc"
	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

// StopGrace is how long a process gets between SIGTERM and SIGKILL.
const StopGrace = 10 * time.Second

// DownOptions configure Down.
type DownOptions struct {
	StateDir string
	// Subnet, when set, names the namespace and veth to remove even without a state file.
	Subnet string
}

// Down stops every process of the cluster (kubelet first, etcd last), kills whatever still
// runs in its network namespace, removes the namespace and the veth, and deletes the state
// file. It is idempotent.
func Down(ctx context.Context, log *slog.Logger, o DownOptions) error {
	if err := preflight.CheckRoot(); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	st, err := state.Load(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st = &state.State{Dir: dir}
	case err != nil:
		return err
	}
	if st.Netns == "" && o.Subnet != "" {
		subnet, err := preflight.ParseSubnet(o.Subnet)
		if err != nil {
			return err
		}
		st.Netns, st.Veth = netns.Names(subnet)
	}
	var errs []error
	procs := slices.Clone(st.Processes)
	slices.Reverse(procs)
	for _, p := range procs {
		if !proc.Alive(p) {
			continue
		}
		if err := proc.Stop(ctx, p, StopGrace); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("stopped", "process", p.Name, "pid", p.PID)
	}
	if st.Netns != "" {
		if err := killNetnsProcesses(ctx, log, st.Netns); err != nil {
			errs = append(errs, err)
		}
		if err := netns.Teardown(ctx, st.Netns, st.Veth); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster %s: %w", dir, err)
	}
	return state.Remove(dir)
}

// killNetnsProcesses stops what still runs in the namespace (backends whose kubelet died).
func killNetnsProcesses(ctx context.Context, log *slog.Logger, ns string) error {
	pids, err := netns.PIDs(ctx, ns)
	if err != nil || len(pids) == 0 {
		return err
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if pids, err = netns.PIDs(ctx, ns); err != nil || len(pids) == 0 {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		log.Warn("processes left in network namespace", "netns", ns, "pids", pids, "signal", sig.String())
	}
	return fmt.Errorf("processes %v still run in network namespace %s", pids, ns)
}
