package cli

import (
	"context"
	"fmt"
	"log/slog"

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
	served, err := watch.GatewayAPIServed(client.Discovery())
	if err != nil && mode == "on" {
		return nil, fmt.Errorf("--gateway-api on: %w", err)
	}
	if !served {
		if mode == "on" {
			return nil, fmt.Errorf("--gateway-api on: the API server does not serve gateway.networking.k8s.io/v1 gatewayclasses, gateways, httproutes and referencegrants (install the Gateway API CRDs, standard channel)")
		}
		logger.Info("Gateway API CRDs not installed; serving Ingresses only", "error", err)
		return nil, nil
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway API client: %w", err)
	}
	return gw, nil
}

// reservedPorts are the ports of the Ingress frontends, which Gateway
// listeners on the same address cannot take.
func reservedPorts(o render.Options) []int32 {
	ports := []int32{int32(o.HTTPPort), int32(o.HTTPSPort)}
	if o.StatsPort != 0 {
		ports = append(ports, int32(o.StatsPort))
	}
	return ports
}
