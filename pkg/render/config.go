package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/params"
	"github.com/haproxytech/client-native/v5/config-parser/types"

	"github.com/bollard-io/bollard/pkg/model"
)

// DefaultsName is the named defaults section of the frontends. Every
// backend is rendered from BackendDefaultsName, which inherits it and adds
// the per-request rules of the backend options; HAProxy 3.4 creates a
// backend at run time from it (`add backend NAME from bollard-backend`).
// HAProxy refuses one defaults section with http-request rules for both
// frontends and backends, hence two.
const (
	DefaultsName        = "bollard"
	BackendDefaultsName = "bollard-backend"
)

// Section names of the base template.
const (
	frontendHTTP  = "http"
	frontendHTTPS = "https"
	frontendStats = "stats"
	defaultsName  = DefaultsName
	// NotFoundBackend answers 404 to requests that match no route.
	NotFoundBackend = "_not_found"
)

// config renders haproxy.cfg: base, the base template with the
// deployment's binds and sockets, the global timeouts and default backend
// (baseSections), then the userlists of basic auth and one backend section
// per Service port.
func config(cfg *model.Config, base, bindAddress string) ([]byte, error) {
	var sb strings.Builder
	var pems map[string][]byte
	if len(cfg.Gateways) > 0 {
		pems = map[string][]byte{}
		for _, list := range [][]model.Certificate{cfg.Certificates, cfg.GatewayCertificates} {
			for i := range list {
				pems[list[i].FileName] = list[i].PEM
			}
		}
	}
	for i := range cfg.Gateways {
		if f := &cfg.Gateways[i]; f.Shared {
			var err error
			if base, err = shareFrontend(base, f, pems); err != nil {
				return nil, fmt.Errorf("render: %w", err)
			}
		}
	}
	sb.WriteString(base)
	for i := range cfg.Gateways {
		if f := &cfg.Gateways[i]; !f.Shared {
			if err := writeGatewayFrontend(&sb, f, pems, bindAddress); err != nil {
				return nil, fmt.Errorf("render: %w", err)
			}
		}
	}
	if err := writeUserlists(&sb, cfg.Userlists); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	for i := range cfg.Backends {
		if err := writeBackend(&sb, cfg.Backends[i]); err != nil {
			return nil, fmt.Errorf("render backend %s: %w", cfg.Backends[i].Name, err)
		}
	}
	return []byte(sb.String()), nil
}

func setBase(p parser.Parser, cfg *model.Config, opts Options) error {
	socket := types.Socket{
		Path: strings.TrimSuffix(opts.RuntimeDir, "/") + "/" + AdminSocket,
		Params: []params.BindOption{
			&params.BindOptionValue{Name: "mode", Value: "600"},
			&params.BindOptionValue{Name: "level", Value: "admin"},
			&params.BindOptionValue{Name: "expose-fd", Value: "listeners"},
		},
	}
	if err := p.Set(parser.Global, parser.GlobalSectionName, "stats socket", socket); err != nil {
		return fmt.Errorf("stats socket: %w", err)
	}
	t := cfg.Global.Timeouts
	for name, d := range map[string]time.Duration{
		"timeout connect": t.Connect, "timeout client": t.Client, "timeout server": t.Server,
		"timeout http-request": t.HTTPRequest, "timeout http-keep-alive": t.HTTPKeepAlive, "timeout tunnel": t.Tunnel,
	} {
		if err := p.Set(parser.Defaults, defaultsName, name, types.SimpleTimeout{Value: milliseconds(d)}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	binds := map[string]types.Bind{
		frontendHTTP: {Path: opts.bind(opts.HTTPPort)},
		frontendHTTPS: {Path: opts.bind(opts.HTTPSPort), Params: []params.BindOption{
			&params.BindOptionWord{Name: "ssl"},
			&params.BindOptionValue{Name: "crt", Value: DefaultCertPEM},
			&params.BindOptionValue{Name: "crt-list", Value: CrtList},
			&params.BindOptionValue{Name: "alpn", Value: "h2,http/1.1"},
		}},
	}
	if opts.StatsPort != 0 {
		binds[frontendStats] = types.Bind{Path: opts.bind(opts.StatsPort)}
	} else if err := p.SectionsDelete(parser.Frontends, frontendStats); err != nil {
		return fmt.Errorf("remove stats frontend: %w", err)
	}
	for frontend, bind := range binds {
		if err := p.Set(parser.Frontends, frontend, "bind", bind); err != nil {
			return fmt.Errorf("frontend %s bind: %w", frontend, err)
		}
	}
	if cfg.DefaultBackend != "" {
		for _, frontend := range []string{frontendHTTP, frontendHTTPS} {
			if err := p.Set(parser.Frontends, frontend, "default_backend", types.StringC{Value: cfg.DefaultBackend}); err != nil {
				return fmt.Errorf("frontend %s default_backend: %w", frontend, err)
			}
		}
	}
	return nil
}

func milliseconds(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}
