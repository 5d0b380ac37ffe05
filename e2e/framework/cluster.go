// Package framework is Bollard's end-to-end test framework. It starts a real test cluster
// (bin/testcluster: etcd, kube-apiserver, kube-controller-manager and the netns kubelet) once
// per test binary, or reuses a running one, and offers helpers to apply YAML, wait for
// conditions, create echo Deployments and Services, and talk HTTP to pods and proxies.
//
// A test package wires it up in TestMain:
//
//	var cluster *framework.Cluster
//
//	func TestMain(m *testing.M) {
//		os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.0.0/24"}, func(c *framework.Cluster) { cluster = c }))
//	}
//
// and each test starts with framework.Need(t, cluster), which skips only when not root.
package framework

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables the framework reads.
const (
	// EnvKubeconfig names the kubeconfig of a running test cluster to reuse instead of starting one.
	EnvKubeconfig = "BOLLARD_E2E_KUBECONFIG"
	// EnvSubnet gives the pod subnet of a reused cluster when its state.json is not beside the kubeconfig.
	EnvSubnet = "BOLLARD_E2E_SUBNET"
	// EnvKeepState keeps the state directory (logs) of a started cluster after the tests.
	EnvKeepState = "BOLLARD_E2E_KEEP_STATE"
	// EnvRepoRoot overrides the repository root, where bin/ is.
	EnvRepoRoot = "BOLLARD_REPO_ROOT"
)

const modulePath = "github.com/bollard-io/bollard"

// Options configure a cluster that the framework starts.
type Options struct {
	// Subnet is the pod subnet, inside 198.18.0.0/15; tests use 198.18.0.0/24.
	Subnet string
	// StartTimeout bounds `testcluster up`; default 3 minutes.
	StartTimeout time.Duration
}

// Cluster is a running test cluster and its clients.
type Cluster struct {
	RepoRoot   string
	BinDir     string
	Kubeconfig string
	// StateDir is empty for a reused cluster.
	StateDir string
	Subnet   netip.Prefix
	Netns    string
	Veth     string
	Config   *rest.Config
	Client   kubernetes.Interface
	Dynamic  dynamic.Interface
	Mapper   *restmapper.DeferredDiscoveryRESTMapper
	Log      *slog.Logger
	owned    bool
}

// Need skips the test when the cluster could not start because the tests do not run as root;
// that is the only reason to skip.
func Need(t testing.TB, c *Cluster) {
	t.Helper()
	if c == nil {
		if os.Geteuid() != 0 {
			t.Skip("the e2e test cluster needs root (network namespaces)")
		}
		t.Fatal("no test cluster (TestMain did not start one)")
	}
}

// RepoRoot finds the repository root: EnvRepoRoot, or the nearest parent of the working
// directory whose go.mod declares Bollard's module.
func RepoRoot() (string, error) {
	if r := os.Getenv(EnvRepoRoot); r != "" {
		return filepath.Abs(r)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			first := ""
			if sc.Scan() {
				first = strings.TrimSpace(sc.Text())
			}
			_ = f.Close()
			if first == "module "+modulePath {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found (no go.mod of " + modulePath + " above the working directory)")
		}
		dir = parent
	}
}

// Main is the body of a TestMain: it starts a cluster (or reuses the one named by
// BOLLARD_E2E_KUBECONFIG), hands it to set, runs the tests and stops the cluster. When not
// root it hands nil to set, so that Need skips every test.
func Main(m *testing.M, o Options, set func(*Cluster)) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if os.Getenv(EnvKubeconfig) == "" && os.Geteuid() != 0 {
		log.Warn("not root: e2e tests will skip")
		set(nil)
		return m.Run()
	}
	ctx := context.Background()
	c, err := Start(ctx, log, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	set(c)
	code := m.Run()
	if code != 0 && c.StateDir != "" {
		fmt.Fprintf(os.Stderr, "e2e: tests failed; cluster logs are in %s/logs\n", c.StateDir)
	}
	if err := c.Stop(ctx, code != 0); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start starts a cluster with bin/testcluster, or reuses the one named by
// BOLLARD_E2E_KUBECONFIG.
func Start(ctx context.Context, log *slog.Logger, o Options) (*Cluster, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	c := &Cluster{RepoRoot: root, BinDir: filepath.Join(root, "bin"), Log: log}
	if kc := os.Getenv(EnvKubeconfig); kc != "" {
		c.Kubeconfig = kc
		if err := c.loadNetwork(filepath.Dir(kc), os.Getenv(EnvSubnet)); err != nil {
			return nil, err
		}
		if err := c.connect(); err != nil {
			return nil, err
		}
		return c, c.InstallGatewayCRDs(ctx)
	}
	return StartNew(ctx, log, o)
}

// StartNew always starts a new cluster (the harness uses it for a second, concurrent one).
func StartNew(ctx context.Context, log *slog.Logger, o Options) (*Cluster, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	c := &Cluster{RepoRoot: root, BinDir: filepath.Join(root, "bin"), Log: log, owned: true}
	tc := filepath.Join(c.BinDir, "testcluster")
	if _, err := os.Stat(tc); err != nil {
		return nil, fmt.Errorf("%s is missing: run make testcluster", tc)
	}
	if o.Subnet == "" {
		o.Subnet = "198.18.0.0/24"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 3 * time.Minute
	}
	if c.StateDir, err = os.MkdirTemp("", "bollard-e2e-"); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	start := time.Now()
	if out, err := c.testcluster(ctx, o.StartTimeout+30*time.Second, "up", "--state", c.StateDir,
		"--subnet", o.Subnet, "--timeout", o.StartTimeout.String()); err != nil {
		return nil, fmt.Errorf("start test cluster (logs in %s/logs): %w\n%s", c.StateDir, err, out)
	}
	log.Info("test cluster up", "state", c.StateDir, "subnet", o.Subnet, "elapsed", time.Since(start).Round(time.Millisecond).String())
	c.Kubeconfig = filepath.Join(c.StateDir, "kubeconfig")
	if err := c.loadNetwork(c.StateDir, ""); err != nil {
		return nil, errors.Join(err, c.Stop(ctx, true))
	}
	if err := c.connect(); err != nil {
		return nil, errors.Join(err, c.Stop(ctx, true))
	}
	// Every suite's cluster has the Gateway API CRDs, as a cluster with a
	// Gateway controller would.
	if err := c.InstallGatewayCRDs(ctx); err != nil {
		return nil, errors.Join(err, c.Stop(ctx, true))
	}
	return c, nil
}

// Stop stops a cluster the framework started (a reused one is left alone) and removes its
// state directory unless keep is set or BOLLARD_E2E_KEEP_STATE is.
func (c *Cluster) Stop(ctx context.Context, keep bool) error {
	if !c.owned {
		return nil
	}
	if out, err := c.testcluster(ctx, 2*time.Minute, "down", "--state", c.StateDir); err != nil {
		return fmt.Errorf("stop test cluster %s: %w\n%s", c.StateDir, err, out)
	}
	if keep || os.Getenv(EnvKeepState) != "" {
		return nil
	}
	if err := os.RemoveAll(c.StateDir); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}

func (c *Cluster) testcluster(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "testcluster"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testcluster %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// loadNetwork reads the subnet, namespace and veth from dir/state.json, or takes the subnet
// from fallback.
func (c *Cluster) loadNetwork(dir, fallback string) error {
	var st struct {
		Subnet string `json:"subnet"`
		Netns  string `json:"netns"`
		Veth   string `json:"veth"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("parse cluster state: %w", err)
		}
	}
	if st.Subnet == "" {
		st.Subnet = fallback
	}
	if st.Subnet == "" {
		return fmt.Errorf("pod subnet unknown: set %s or keep state.json beside the kubeconfig", EnvSubnet)
	}
	p, err := netip.ParsePrefix(st.Subnet)
	if err != nil {
		return fmt.Errorf("pod subnet: %w", err)
	}
	c.Subnet, c.Netns, c.Veth = p, st.Netns, st.Veth
	return nil
}

// connect builds the clients from the kubeconfig.
func (c *Cluster) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	c.Config = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	return nil
}
