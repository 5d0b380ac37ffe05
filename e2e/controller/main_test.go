// Package controller runs `bollard controller` against the real test
// cluster, a real HAProxy in managed mode and echo pods.
package controller

import (
	"os"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.4.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

func setup(t *testing.T, prefix string, args ...string) (string, *framework.Bollard) {
	t.Helper()
	return cluster.Setup(t, prefix, args...)
}

func echo(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	cluster.Echo(t, ns, name, replicas)
}

func apply(t *testing.T, ns, manifest string) { t.Helper(); cluster.MustApply(t, ns, manifest) }

func ensureClass(t *testing.T) { t.Helper(); cluster.EnsureIngressClass(t) }

func ingress(name, host, path, pathType, service string) string {
	return framework.IngressYAML(name, host, framework.Path{Path: path, Type: pathType, Service: service})
}
