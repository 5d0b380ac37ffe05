package framework

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// GRPCHealthCheck calls grpc.health.v1.Health/Check (service "") at target and returns the
// serving status it answers, such as "SERVING" or "NOT_SERVING". target is a gRPC target;
// a bare host:port is dialled as it is (passthrough, no resolver). With tlsConfig nil the
// call goes over h2c (HTTP/2 with prior knowledge), else over TLS with tlsConfig. authority,
// when not empty, is the :authority (Host) of the call, and the TLS server name unless
// tlsConfig sets ServerName. An RPC failure comes back as the error (status.Code tells it).
func GRPCHealthCheck(ctx context.Context, target, authority string, tlsConfig *tls.Config) (string, error) {
	if !strings.Contains(target, "://") {
		target = "passthrough:///" + target
	}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if authority != "" {
		opts = append(opts, grpc.WithAuthority(authority))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return "", fmt.Errorf("grpc client for %s: %w", target, err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return "", fmt.Errorf("grpc health check of %s: %w", target, err)
	}
	return resp.GetStatus().String(), nil
}
