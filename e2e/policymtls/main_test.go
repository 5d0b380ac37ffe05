// Package policymtls runs the client certificate route policy
// (bollard.io/auth-tls-secret, auth-tls-verify-client) end to end: the real
// test cluster, `bollard controller`, a real HAProxy in managed mode and
// echo pods, with real TLS handshakes and client certificates made here.
package policymtls

import (
	"os"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.14.0/24"}, func(c *framework.Cluster) { cluster = c }))
}
