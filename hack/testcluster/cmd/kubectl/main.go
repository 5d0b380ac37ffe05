// Command kubectl is the Kubernetes command line client, built from k8s.io/kubectl for the test
// cluster, its tests and the demo.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		// Print the error the way kubectl does and exit non-zero.
		util.CheckErr(err)
	}
}
