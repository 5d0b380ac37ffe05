// Package cluster starts and stops a test cluster: etcd, kube-apiserver,
// kube-controller-manager and the netns kubelet, all detached, with their state in one directory.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bollard-io/bollard/hack/testcluster/internal/netns"
	"github.com/bollard-io/bollard/hack/testcluster/internal/pki"
	"github.com/bollard-io/bollard/hack/testcluster/internal/preflight"
	"github.com/bollard-io/bollard/hack/testcluster/internal/proc"
	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

// Controllers are the kube-controller-manager controllers the harness runs (names as in
// k8s.io/kubernetes/cmd/kube-controller-manager/names of v1.37).
const Controllers = "namespace-controller,garbage-collector-controller,endpointslice-controller," +
	"replicaset-controller,deployment-controller,serviceaccount-controller,serviceaccount-token-controller"

// Process names, in start order.
const (
	ProcEtcd      = "etcd"
	ProcAPIServer = "kube-apiserver"
	ProcKCM       = "kube-controller-manager"
	ProcKubelet   = "kubelet"
)

// UpOptions configure Up.
type UpOptions struct {
	StateDir string
	Subnet   string
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and echo.
	BinDir string
	// Self is the testcluster binary, run again as `testcluster kubelet`.
	Self    string
	Timeout time.Duration
}

// Up starts a cluster and returns once the API server is ready, the Node is Ready and the
// default ServiceAccount exists. On failure it stops whatever it started.
func Up(ctx context.Context, log *slog.Logger, o UpOptions) (*state.State, error) {
	start := time.Now()
	if err := preflight.CheckRoot(); err != nil {
		return nil, err
	}
	if err := netns.Available(ctx); err != nil {
		return nil, err
	}
	subnet, err := preflight.ParseSubnet(o.Subnet)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := prepareStateDir(ctx, log, dir); err != nil {
		return nil, err
	}
	if err := preflight.CheckSubnet(ctx, log, subnet); err != nil {
		return nil, err
	}
	for _, b := range []string{ProcEtcd, ProcAPIServer, ProcKCM, "echo"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("binary %s missing in %s (run make testcluster): %w", b, o.BinDir, err)
		}
	}
	ns, veth := netns.Names(subnet)
	st := &state.State{
		Dir: dir, Subnet: subnet.String(), Gateway: netns.Gateway(subnet).String(),
		Netns: ns, Veth: veth, NodeName: nodeName(subnet), BinDir: o.BinDir,
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := bringUp(ctx, log, st, subnet, o.Self); err != nil {
		log.Error("cluster start failed, stopping what was started", "err", err)
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer ccancel()
		if derr := Down(cctx, log, DownOptions{StateDir: dir}); derr != nil {
			log.Error("cleanup after failed start", "err", derr)
		}
		return nil, err
	}
	log.Info("cluster ready", "state", dir, "api", apiURL(st), "subnet", st.Subnet,
		"netns", ns, "elapsed", time.Since(start).Round(time.Millisecond).String())
	return st, nil
}

// prepareStateDir refuses a directory whose cluster still runs and cleans a stale one.
func prepareStateDir(ctx context.Context, log *slog.Logger, dir string) error {
	if state.Exists(dir) {
		old, err := state.Load(dir)
		if err != nil {
			return err
		}
		for _, p := range old.Processes {
			if proc.Alive(p) {
				return fmt.Errorf("a test cluster already runs with state %s (%s pid %d); run `testcluster down --state %s` first",
					dir, p.Name, p.PID, dir)
			}
		}
		log.Info("cleaning up a stale cluster state", "state", dir)
		if err := Down(ctx, log, DownOptions{StateDir: dir}); err != nil {
			return err
		}
	}
	for _, sub := range []string{"etcd", "pki"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("clean state dir: %w", err)
		}
	}
	if err := os.MkdirAll(state.LogDir(dir), 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	return nil
}

func nodeName(subnet netip.Prefix) string {
	a := subnet.Addr().As4()
	return fmt.Sprintf("testcluster-%d-%d-%d-%d", a[0], a[1], a[2], a[3])
}

func apiURL(st *state.State) string {
	return "https://127.0.0.1:" + strconv.Itoa(st.Ports.APIServer)
}

func bringUp(ctx context.Context, log *slog.Logger, st *state.State, subnet netip.Prefix, self string) error {
	files, err := pki.Generate(filepath.Join(st.Dir, "pki"))
	if err != nil {
		return err
	}
	for _, p := range []*int{&st.Ports.EtcdClient, &st.Ports.EtcdPeer, &st.Ports.APIServer, &st.Ports.KCM} {
		if *p, err = proc.FreePort(); err != nil {
			return err
		}
	}
	if err := st.Save(); err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(st.Ports.EtcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(st.Ports.EtcdPeer)
	if err := startProc(log, st, ProcEtcd, filepath.Join(st.BinDir, "etcd"), []string{
		"--name=testcluster", "--data-dir=" + filepath.Join(st.Dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=testcluster=" + peerURL, "--unsafe-no-fsync", "--log-level=warn",
	}); err != nil {
		return err
	}
	if err := waitHTTP(ctx, st, ProcEtcd, etcdURL+"/health", nil, ""); err != nil {
		return err
	}

	if err := startProc(log, st, ProcAPIServer, filepath.Join(st.BinDir, "kube-apiserver"), apiServerArgs(st, files)); err != nil {
		return err
	}
	if err := waitHTTP(ctx, st, ProcAPIServer, apiURL(st)+"/readyz", files.CAPEM, files.AdminToken); err != nil {
		return err
	}
	if err := writeKubeconfig(st.Kubeconfig, apiURL(st), files.CAPEM, files.AdminToken); err != nil {
		return err
	}

	kc := "--kubeconfig=" + st.Kubeconfig
	if err := startProc(log, st, ProcKCM, filepath.Join(st.BinDir, "kube-controller-manager"), []string{
		kc, "--authentication-kubeconfig=" + st.Kubeconfig, "--authorization-kubeconfig=" + st.Kubeconfig,
		"--authentication-skip-lookup", "--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(st.Ports.KCM), "--cert-dir=" + filepath.Join(st.Dir, "pki", "kcm"),
		"--leader-elect=false", "--controllers=" + Controllers,
		"--service-account-private-key-file=" + files.SAKey, "--root-ca-file=" + files.CACert,
		"--use-service-account-credentials=false", "--cluster-name=testcluster", "--profiling=false",
	}); err != nil {
		return err
	}

	if err := netns.Setup(ctx, st.Netns, st.Veth, subnet); err != nil {
		return err
	}
	if err := startProc(log, st, ProcKubelet, self, []string{"kubelet", "--state", st.Dir}); err != nil {
		return err
	}
	return waitReady(ctx, st)
}

// apiServerArgs are kube-apiserver's flags; StartAPIServer uses them again.
func apiServerArgs(st *state.State, files *pki.Files) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(st.Ports.EtcdClient), "--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(st.Ports.APIServer),
		"--endpoint-reconciler-type=none", "--cert-dir=" + filepath.Join(st.Dir, "pki"),
		"--tls-cert-file=" + files.ServerCert, "--tls-private-key-file=" + files.ServerKey,
		"--token-auth-file=" + files.Tokens, "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + files.SAPub,
		"--service-account-signing-key-file=" + files.SAKey,
		"--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=true", "--profiling=false",
	}
}

// startProc starts one detached process and records it in the state file at once, so that a
// failure later still lets Down find it.
func startProc(log *slog.Logger, st *state.State, name, exe string, args []string) error {
	p, err := proc.Start(name, exe, args, filepath.Join(state.LogDir(st.Dir), name+".log"), nil)
	if err != nil {
		return err
	}
	st.Processes = append(st.Processes, p)
	log.Info("started", "process", name, "pid", p.PID, "log", p.Log)
	return st.Save()
}

// procFailure builds an error for a process that died or did not become ready, with the end
// of its log.
func procFailure(st *state.State, name string, cause error) error {
	for _, p := range st.Processes {
		if p.Name == name {
			tail := strings.TrimSpace(proc.Tail(p.Log, 2000))
			alive := "still running"
			if !proc.Alive(p) {
				alive = "exited"
			}
			return fmt.Errorf("%s (pid %d, %s) not ready: %w\n--- end of %s ---\n%s", name, p.PID, alive, cause, p.Log, tail)
		}
	}
	return fmt.Errorf("%s not ready: %w", name, cause)
}

// aliveOrFail returns an error when the named process has died.
func aliveOrFail(st *state.State, name string) error {
	for _, p := range st.Processes {
		if p.Name == name && !proc.Alive(p) {
			return procFailure(st, name, errors.New("process exited"))
		}
	}
	return nil
}
