package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/manifest"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
	"github.com/bollard-io/bollard/pkg/watch"
)

type renderCommand struct {
	files         []string
	kubeconfig    string
	outputDir     string
	check         bool
	haproxyBinary string
	model         modelFlags
	render        renderFlags
}

func newRenderCommand() *cobra.Command {
	rc := &renderCommand{}
	cmd := &cobra.Command{
		Use:   "render (-f FILE|DIR|- ... | --kubeconfig PATH)",
		Short: "Print the HAProxy configuration Bollard would generate (dry-run)",
		Long: `Render reads Ingresses, IngressClasses, Services, EndpointSlices, Secrets and
ConfigMaps from YAML/JSON files or from a live cluster and prints the
haproxy.cfg that Bollard would run. Legacy extensions/v1beta1 and
networking.k8s.io/v1beta1 Ingresses are converted to networking.k8s.io/v1.
Objects that are rejected are listed on stderr with the field and the reason.

When reading files, Ingresses without a class are served unless
--watch-ingress-without-class=false is given.`,
		Example: `  bollard render -f ingress.yaml
  bollard render -f manifests/ --output-dir /tmp/bollard --check
  kubectl get ingress,svc,endpointslices -A -o yaml | bollard render -f -
  bollard render --kubeconfig ~/.kube/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("watch-ingress-without-class") && len(rc.files) > 0 {
				rc.model.opts.WatchIngressWithoutClass = true
			}
			return rc.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&rc.files, "filename", "f", nil, "manifest file, directory or - for stdin (repeatable)")
	fs.StringVar(&rc.kubeconfig, "kubeconfig", "", "read the objects from the cluster of this kubeconfig instead of files")
	fs.StringVar(&rc.outputDir, "output-dir", "", "write haproxy.cfg, maps, crt-list and certificates to this directory")
	fs.BoolVar(&rc.check, "check", false, "validate the result with `haproxy -c` and fail with HAProxy's message if it is rejected")
	fs.StringVar(&rc.haproxyBinary, "haproxy-binary", "haproxy", "HAProxy binary used by --check")
	rc.model.bind(fs)
	rc.render.bind(fs)
	return cmd
}

func (rc *renderCommand) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	snap, err := rc.snapshot(ctx, stdin)
	if err != nil {
		return err
	}
	now := time.Now()
	fallback, err := tlscert.SelfSigned([]string{"bollard-default.invalid"}, now, 365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("default certificate: %w", err)
	}
	opts := rc.model.opts
	opts.FallbackCertificate, opts.Now = fallback.Combined(), now
	if !opts.GatewayLoopback {
		opts.ReservedPorts = reservedPorts(rc.render.opts)
		opts.IngressHTTPPort, opts.IngressHTTPSPort = int32(rc.render.opts.HTTPPort), int32(rc.render.opts.HTTPSPort)
	}
	if rc.check {
		// The check loads the certificates: accept only what this
		// HAProxy's TLS library loads. Without --check, the default.
		// Only a failed probe is reported: stderr lists rejections.
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		opts.TLS = probeTLSPolicy(ctx, logger, rc.haproxyBinary)
	}

	for _, ing := range snap.Ingresses {
		if !model.IsOurs(ing, snap.IngressClasses, opts) {
			fmt.Fprintf(stderr, "skipped: Ingress %s/%s: its class is not served by %s\n", ing.Namespace, ing.Name, opts.ControllerName)
		}
	}
	cfg, rejections := model.Build(snap, opts)
	for _, r := range rejections {
		fmt.Fprintln(stderr, r.String())
	}
	files, err := render.Render(&cfg, rc.render.opts)
	if err != nil {
		return err
	}
	dir := rc.outputDir
	if dir == "" && rc.check {
		dir, err = os.MkdirTemp("", "bollard-render-")
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	if dir != "" {
		if err := writeOutput(dir, files); err != nil {
			return err
		}
	}
	if rc.check {
		if err := haproxy.Check(ctx, rc.haproxyBinary, filepath.Join(dir, render.ConfigFile)); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "haproxy -c: configuration is valid")
	}
	if rc.outputDir == "" {
		_, err = stdout.Write(files[indexOf(files, render.ConfigFile)].Data)
	}
	return err
}

func (rc *renderCommand) snapshot(ctx context.Context, stdin io.Reader) (model.Snapshot, error) {
	switch {
	case len(rc.files) > 0 && rc.kubeconfig != "":
		return model.Snapshot{}, errors.New("give either -f or --kubeconfig, not both")
	case len(rc.files) > 0:
		res, err := manifest.Load(rc.files, stdin)
		if err != nil {
			return model.Snapshot{}, err
		}
		return res.Snapshot, nil
	default:
		if rc.kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
			return model.Snapshot{}, errors.New("nothing to render: give -f FILE|DIR|- or --kubeconfig PATH")
		}
		client, cfg, err := kubeClient(rc.kubeconfig)
		if err != nil {
			return model.Snapshot{}, err
		}
		scope := watch.ScopeOf(rc.model.opts)
		snap, err := watch.List(ctx, client, scope)
		if err != nil {
			return snap, err
		}
		// The Gateway API objects too, when the cluster serves them.
		if served, err := watch.GatewayAPIServed(client.Discovery()); err != nil || !served {
			return snap, nil
		}
		gw, err := gatewayclient.NewForConfig(cfg)
		if err != nil {
			return snap, fmt.Errorf("gateway API client: %w", err)
		}
		return snap, watch.ListGateway(ctx, gw, client, scope, &snap)
	}
}

func indexOf(files []render.File, path string) int {
	for i, f := range files {
		if f.Path == path {
			return i
		}
	}
	return -1
}

// writeOutput writes files into dir, after checking that every path stays
// inside it. The model and the renderer never produce a path that leaves
// the directory; this refuses one should they ever do.
func writeOutput(dir string, files []render.File) error {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			root, err = os.OpenRoot(dir)
		}
	}
	if err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	defer root.Close()
	for _, f := range files {
		if err := checkInside(root, dir, f.Path); err != nil {
			return fmt.Errorf("output dir %s: refusing to write %s: %w", dir, strconv.QuoteToASCII(f.Path), err)
		}
	}
	return haproxy.WriteFiles(dir, files)
}

// checkInside reports whether the rendered path p names a file inside dir:
// relative, with no ".." that climbs out, and with no symbolic link on the
// way that leads out (os.Root refuses those).
func checkInside(root *os.Root, dir, p string) error {
	if p == "" || filepath.IsAbs(filepath.FromSlash(p)) || strings.HasPrefix(p, "/") {
		return errors.New("not a relative file path")
	}
	full := filepath.Join(dir, filepath.FromSlash(p))
	rel, err := filepath.Rel(dir, full)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return errors.New("the path leaves the output directory")
	}
	// The nearest existing ancestor must resolve inside the directory.
	for parent := filepath.Dir(rel); ; parent = filepath.Dir(parent) {
		_, err := root.Stat(parent)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("the path leaves the output directory: %w", err)
		}
		if parent == "." {
			return nil
		}
	}
}
