package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/bollard-io/bollard/pkg/controller"
	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/tlscert"
	"github.com/bollard-io/bollard/pkg/version"
)

// FallbackCertificateFile holds, in the config dir, the generated default
// certificate, kept across restarts.
const FallbackCertificateFile = "fallback.pem"

type controllerCommand struct {
	kubeconfig string
	model      modelFlags
	render     renderFlags
	opts       controller.Options
	logLevel   string
	logFormat  string
	gatewayAPI string
}

func newControllerCommand() *cobra.Command {
	cc := &controllerCommand{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the ingress controller beside HAProxy",
		Long: `The controller watches Ingresses, IngressClasses, Services, EndpointSlices,
Secrets and ConfigMaps, and keeps HAProxy in step: endpoint, route and
certificate changes go over the runtime API with no reload; structural
changes are checked with haproxy -c, swapped in and reloaded.

In managed mode the controller starts and supervises HAProxy itself. In
external mode it drives a sidecar HAProxy through the sockets in
--runtime-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cc.run(cmd) },
	}
	fs := cmd.Flags()
	fs.StringVar(&cc.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster credentials)")
	cc.model.bind(fs)
	cc.render.bind(fs)
	identity, _ := os.Hostname()
	electionNamespace := os.Getenv("POD_NAMESPACE")
	if electionNamespace == "" {
		electionNamespace = "default"
	}
	o := &cc.opts
	fs.StringVar(&o.PublishService, "publish-service", "", "NS/NAME of the LoadBalancer Service whose address goes into Ingress status")
	fs.StringVar(&o.PublishAddress, "publish-address", "", "comma-separated IPs or host names to put into Ingress status (overrides --publish-service)")
	fs.StringVar(&o.Mode, "haproxy-mode", controller.ModeManaged, "managed: start and supervise HAProxy; external: drive a sidecar HAProxy through --runtime-dir")
	fs.StringVar(&o.HAProxyBinary, "haproxy-binary", "haproxy", "HAProxy binary, for haproxy -c and managed mode")
	fs.StringVar(&o.ConfigDir, "config-dir", "/etc/haproxy", "directory of haproxy.cfg, maps/ and certs/")
	fs.DurationVar(&o.SyncDebounce, "sync-debounce", 0, "wait this long after a change before syncing (changes that arrive during a sync are coalesced anyway)")
	fs.DurationVar(&o.BackgroundBuildAfter, "background-build-after", 25*time.Millisecond, "once a full model build took this long, full builds run off the apply loop and endpoint changes are applied meanwhile (0 keeps every build on the loop)")
	fs.StringVar(&o.MetricsAddress, "metrics-address", ":10254", "address of the Prometheus /metrics endpoint (\"\" disables it)")
	fs.StringVar(&o.HealthAddress, "health-address", ":10254", "address of /healthz and /readyz (\"\" disables them)")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader through a Lease; only the leader writes Ingress status")
	fs.StringVar(&o.ElectionID, "election-id", "bollard-leader", "name of the Lease used for leader election")
	fs.StringVar(&o.ElectionNamespace, "election-namespace", electionNamespace, "namespace of the Lease (default: $POD_NAMESPACE or default)")
	fs.StringVar(&o.Identity, "election-identity", identity, "this replica's identity in the Lease (default: the host name)")
	fs.StringVar(&cc.gatewayAPI, "gateway-api", "auto", "serve the Gateway API (GatewayClass, Gateway, HTTPRoute, ReferenceGrant): auto when its CRDs are installed, on or off")
	fs.StringVar(&cc.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&cc.logFormat, "log-format", "json", "json or text")
	return cmd
}

func (cc *controllerCommand) run(cmd *cobra.Command) error {
	logger, err := newLogger(cmd.ErrOrStderr(), cc.logLevel, cc.logFormat)
	if err != nil {
		return err
	}
	client, restConfig, err := kubeClient(cc.kubeconfig)
	if err != nil {
		return err
	}
	gatewayClient, err := gatewayAPIClient(cmd.Context(), logger, cc.gatewayAPI, client, restConfig)
	if err != nil {
		return err
	}
	fallback, err := tlscert.LoadOrCreate(filepath.Join(cc.opts.ConfigDir, FallbackCertificateFile),
		[]string{"bollard-default.invalid"}, time.Now(), 10*365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("default certificate: %w", err)
	}
	opts := cc.opts
	if opts.Mode == controller.ModeManaged {
		// The managed HAProxy binds its sockets there; in external mode
		// the sidecar owns the directory.
		if err := ensureRuntimeDir(cc.render.opts.RuntimeDir); err != nil {
			return err
		}
	}
	opts.Model = cc.model.opts
	opts.Model.FallbackCertificate = fallback
	opts.Model.TLS = probeTLSPolicy(cmd.Context(), logger, opts.HAProxyBinary)
	opts.Render = cc.render.opts
	opts.Logger = logger
	opts.GatewayClient = gatewayClient
	if gatewayClient == nil {
		opts.Model.GatewayControllerName = ""
	} else if !opts.Model.GatewayLoopback {
		opts.Model.ReservedPorts = reservedPorts(opts.Render, opts.MetricsAddress, opts.HealthAddress)
		opts.Model.IngressHTTPPort, opts.Model.IngressHTTPSPort = int32(opts.Render.HTTPPort), int32(opts.Render.HTTPSPort)
	}
	logger.Info("starting bollard controller", "version", version.Version(), "commit", version.Commit(),
		"mode", opts.Mode, "config_dir", opts.ConfigDir, "runtime_dir", opts.Render.RuntimeDir,
		"ingress_class", opts.Model.IngressClass, "watch_namespace", opts.Model.WatchNamespace,
		"gateway_api", gatewayClient != nil, "gateway_controller_name", opts.Model.GatewayControllerName)
	c, err := controller.New(client, opts)
	if err != nil {
		return err
	}
	return c.Run(cmd.Context())
}

// probeTLSPolicy asks the HAProxy binary what its TLS library accepts, so
// that the model refuses a Secret HAProxy would refuse. Without an answer
// the model uses OpenSSL's security level 2, the common default.
func probeTLSPolicy(ctx context.Context, logger *slog.Logger, binary string) model.TLSPolicy {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	policy, err := haproxy.ProbeTLSPolicy(ctx, binary)
	if err != nil {
		policy = model.DefaultTLSPolicy()
		logger.Warn("cannot probe HAProxy's TLS library; using the default TLS policy", "error", err, "tls_policy", policy.String())
		return policy
	}
	logger.Info("probed HAProxy's TLS library", "tls_policy", policy.String())
	return policy
}

// ensureRuntimeDir creates dir with mode 0700 when it does not exist, and
// leaves an existing directory's mode alone.
func ensureRuntimeDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("--runtime-dir %q: must be an absolute path", dir)
	}
	info, err := os.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("--runtime-dir %s: exists and is not a directory", dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--runtime-dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--runtime-dir: create: %w", err)
	}
	// MkdirAll's mode is masked by the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("--runtime-dir: %w", err)
	}
	return nil
}

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
