package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/watch"
)

// gatewayAPIClient returns the Gateway API client per --gateway-api: nil
// when it is off, or when auto finds its CRDs missing.
func gatewayAPIClient(ctx context.Context, logger *slog.Logger, mode string, client kubernetes.Interface, cfg *rest.Config) (gatewayclient.Interface, error) {
	switch mode {
	case "off":
		return nil, nil
	case "on", "auto":
	default:
		return nil, fmt.Errorf("--gateway-api %q: want auto, on or off", mode)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// A failed discovery is not an answer: with auto, it would turn the
	// Gateway API off until a restart, and its status would go stale.
	var served bool
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if served, err = watch.GatewayAPIServed(client.Discovery()); err == nil {
			break
		}
		logger.Warn("cannot discover the Gateway API; retrying", "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--gateway-api %s: %w", mode, err)
	}
	if !served {
		if mode == "on" {
			return nil, fmt.Errorf("--gateway-api on: the API server does not serve gateway.networking.k8s.io/v1 gatewayclasses, gateways, httproutes and referencegrants (install the Gateway API CRDs, standard channel)")
		}
		logger.Info("Gateway API CRDs not installed; serving Ingresses only (--gateway-api auto)")
		return nil, nil
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway API client: %w", err)
	}
	return gw, nil
}

// reservedPorts are the ports HAProxy and the controller already listen
// on, which Gateway listeners on the same address cannot take: the stats
// frontend and the controller's metrics and health endpoints (a listener
// there made every reload fail to bind). The Ingress frontends' ports are
// shared instead (model.Options.IngressHTTPPort).
func reservedPorts(o render.Options, addresses ...string) []int32 {
	var ports []int32
	if o.StatsPort != 0 {
		ports = append(ports, int32(o.StatsPort))
	}
	for _, a := range addresses {
		if _, port, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(port); err == nil && n > 0 && !slices.Contains(ports, int32(n)) {
				ports = append(ports, int32(n))
			}
		}
	}
	return ports
}
