// Package deploy checks the manifests in deploy/ and the Dockerfile: the
// kustomize overlays render, pass a server-side dry run on the real test
// cluster, grant exactly the RBAC Bollard needs, run a pod that meets the
// restricted Pod Security Standard, and pass only flags that the bollard
// binary accepts.
package deploy

import (
	"os"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.5.0/24"}, func(c *framework.Cluster) { cluster = c }))
}
