package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/node"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the release and the Go toolchain",
		Long: "version prints the release (node.Version, which release builds set\n" +
			"with -ldflags \"-X github.com/helixtrack/attachments/node.Version=...\")\n" +
			"and the Go toolchain, OS and architecture of the binary.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "attachments %s (%s %s/%s)\n",
				node.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		}),
	}
}
