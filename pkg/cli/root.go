// Package cli holds Bollard's cobra commands.
package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bollard-io/bollard/pkg/version"
)

// NewRootCommand returns the `bollard` command with its subcommands.
func NewRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "bollard",
		Short:         "Bollard keeps a real HAProxy in step with Kubernetes Ingresses",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRenderCommand(), newControllerCommand(), newBootstrapCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "bollard %s (commit %s)\n", version.Version(), version.Commit())
			return err
		},
	}
}
