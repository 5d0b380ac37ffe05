package main

import (
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// parseHealthStatus turns a name such as SERVING or NOT_SERVING into a serving status.
func parseHealthStatus(s string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	v, ok := healthpb.HealthCheckResponse_ServingStatus_value[strings.ToUpper(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("unknown gRPC health status %q (want SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN)", s)
	}
	return healthpb.HealthCheckResponse_ServingStatus(v), nil
}

// newGRPCServer returns a gRPC server with the standard health service, reporting status
// for the server as a whole (service "").
func newGRPCServer(status healthpb.HealthCheckResponse_ServingStatus) *grpc.Server {
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", status)
	healthpb.RegisterHealthServer(gs, hs)
	return gs
}

// isGRPC reports whether r is a gRPC call: HTTP/2 with content-type application/grpc[+...].
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return r.ProtoMajor == 2 && (ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+") ||
		strings.HasPrefix(ct, "application/grpc;"))
}

// withGRPC sends gRPC calls to gs and everything else to h.
func withGRPC(gs *grpc.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGRPC(r) {
			gs.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
