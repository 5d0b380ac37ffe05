// Package events runs `bollard controller` against the real test cluster
// to show which informer events wake its apply loop.
package events

import (
	"os"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.7.0/24"}, func(c *framework.Cluster) { cluster = c }))
}
