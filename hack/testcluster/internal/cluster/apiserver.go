package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/bollard-io/bollard/hack/testcluster/internal/pki"
	"github.com/bollard-io/bollard/hack/testcluster/internal/proc"
	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

// StopAPIServer stops kube-apiserver alone (SIGTERM, then SIGKILL after
// grace; StopGrace when 0) and leaves etcd, kube-controller-manager and the kubelet
// running, so that tests can see what clients do while the API is gone.
func StopAPIServer(ctx context.Context, log *slog.Logger, stateDir string, grace time.Duration) error {
	if grace <= 0 {
		grace = StopGrace
	}
	st, p, err := loadAPIServer(stateDir)
	if err != nil {
		return err
	}
	if !proc.Alive(*p) {
		log.Info("kube-apiserver is not running", "pid", p.PID)
		return nil
	}
	if err := proc.Stop(ctx, *p, grace); err != nil {
		return err
	}
	log.Info("stopped", "process", ProcAPIServer, "pid", p.PID, "state", st.Dir)
	return nil
}

// StartAPIServer starts kube-apiserver again, with the flags, ports and
// keys of `up`, records its new PID and waits until /readyz answers.
func StartAPIServer(ctx context.Context, log *slog.Logger, stateDir string, timeout time.Duration) error {
	st, p, err := loadAPIServer(stateDir)
	if err != nil {
		return err
	}
	if proc.Alive(*p) {
		return fmt.Errorf("kube-apiserver already runs (pid %d)", p.PID)
	}
	kc, err := clientcmd.LoadFromFile(st.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cluster, user := kc.Clusters["testcluster"], kc.AuthInfos["admin"]
	if cluster == nil || user == nil {
		return fmt.Errorf("kubeconfig %s has no testcluster cluster or admin user", st.Kubeconfig)
	}
	files := pki.Paths(filepath.Join(st.Dir, "pki"))
	started, err := proc.Start(ProcAPIServer, filepath.Join(st.BinDir, "kube-apiserver"), apiServerArgs(st, files), p.Log, nil)
	if err != nil {
		return err
	}
	*p = started
	if err := st.Save(); err != nil {
		return err
	}
	log.Info("started", "process", ProcAPIServer, "pid", started.PID, "log", started.Log)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return waitHTTP(ctx, st, ProcAPIServer, apiURL(st)+"/readyz", cluster.CertificateAuthorityData, user.Token)
}

// loadAPIServer returns the state and its kube-apiserver entry.
func loadAPIServer(stateDir string) (*state.State, *state.Process, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, nil, fmt.Errorf("state dir: %w", err)
	}
	st, err := state.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	for i := range st.Processes {
		if st.Processes[i].Name == ProcAPIServer {
			return st, &st.Processes[i], nil
		}
	}
	return nil, nil, fmt.Errorf("no %s in %s", ProcAPIServer, state.Path(dir))
}
