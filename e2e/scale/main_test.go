// Package scale runs `bollard controller` against the real test cluster
// with many objects it must not cache, and measures what it costs.
package scale

import (
	"os"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.10.0/24"}, func(c *framework.Cluster) { cluster = c }))
}
