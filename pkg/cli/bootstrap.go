package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

type bootstrapCommand struct {
	configDir     string
	check         bool
	haproxyBinary string
	render        renderFlags
}

// newBootstrapCommand returns `bollard bootstrap`, which the init container
// of the deployed pod runs: it writes the config of an empty cluster so
// that the HAProxy sidecar can start (answering 404) before the controller
// has synced.
func newBootstrapCommand() *cobra.Command {
	bc := &bootstrapCommand{}
	cmd := &cobra.Command{
		Use:   "bootstrap --config-dir DIR --runtime-dir DIR",
		Short: "Write a minimal valid HAProxy config, so HAProxy can start before the first sync",
		Long: `Bootstrap writes the haproxy.cfg, maps and certificates of an empty cluster
(no Ingress: every request gets 404, the stats port answers /healthz) into
--config-dir, with a generated self-signed default certificate, and creates
--runtime-dir for HAProxy's sockets. The deployed pod runs it as an init
container; the controller replaces the config at its first sync.

Give it the same --http-port, --https-port, --stats-port, --bind-address and
--runtime-dir as the controller, so that the controller's first config only
changes routes. Existing files in --config-dir are replaced.`,
		Example: `  bollard bootstrap --config-dir /etc/haproxy --runtime-dir /run/haproxy \
    --http-port 8080 --https-port 8443 --stats-port 1024 --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bc.run(cmd.Context(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&bc.configDir, "config-dir", "/etc/haproxy", "directory to write haproxy.cfg, maps/ and certs/ into")
	fs.BoolVar(&bc.check, "check", false, "validate the written config with `haproxy -c`")
	fs.StringVar(&bc.haproxyBinary, "haproxy-binary", "haproxy", "HAProxy binary used by --check")
	bc.render.bind(fs)
	return cmd
}

func (bc *bootstrapCommand) run(ctx context.Context, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if bc.configDir == "" {
		return errors.New("--config-dir must not be empty")
	}
	now := time.Now()
	// The same stored certificate as the controller's, so that its first
	// sync finds the bootstrap files already in place.
	fallback, err := tlscert.LoadOrCreate(filepath.Join(bc.configDir, FallbackCertificateFile),
		[]string{"bollard-default.invalid"}, now, 10*365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("default certificate: %w", err)
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate, opts.Now = fallback, now
	cfg, rejections := model.Build(model.Snapshot{}, opts)
	if len(rejections) > 0 {
		msgs := make([]string, len(rejections))
		for i, r := range rejections {
			msgs[i] = r.String()
		}
		return fmt.Errorf("the empty config has rejections: %s", strings.Join(msgs, "; "))
	}
	files, err := render.Render(&cfg, bc.render.opts)
	if err != nil {
		return err
	}
	// HAProxy creates its sockets here; in the pod it is an emptyDir.
	if err := os.MkdirAll(bc.render.opts.RuntimeDir, 0o750); err != nil {
		return fmt.Errorf("runtime dir: %w", err)
	}
	if err := haproxy.WriteFiles(bc.configDir, files); err != nil {
		return err
	}
	configFile := filepath.Join(bc.configDir, render.ConfigFile)
	fmt.Fprintf(stderr, "bootstrap: wrote %d files for an empty cluster to %s (http %d, https %d, stats %d, sockets in %s)\n",
		len(files), bc.configDir, bc.render.opts.HTTPPort, bc.render.opts.HTTPSPort, bc.render.opts.StatsPort, bc.render.opts.RuntimeDir)
	if bc.check {
		if err := haproxy.Check(ctx, bc.haproxyBinary, configFile); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "haproxy -c: configuration is valid")
	}
	return nil
}
