package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/internal/config"
)

// Exit statuses of the binary.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status. It
// reads uploads named "-" from stdin, writes results to stdout and
// errors, as one line each, to stderr. Cancelling ctx stops a running
// serve as SIGINT would, and aborts a transfer.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}

	code := exitUsage
	if ee, ok := errors.AsType[*exitError](err); ok {
		code = ee.code
	}
	msg := oneLine(err.Error())
	if code == exitUsage {
		msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
	}
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), msg)
	return code
}

// newRootCommand builds the command tree. Input and output go through
// stdin, stdout and stderr rather than the os files, so tests can supply
// and read them.
func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "attachments",
		Short: "HelixTrack Attachments: a distributed, deduplicating attachment store",
		Long: "attachments runs and administers HelixTrack Attachments nodes.\n" +
			"Without --config, commands use the embedded development defaults.",
		// Errors are printed once, on one line, by run.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	root.AddCommand(
		newServeCommand(),
		newConfigCommand(),
		newTokenCommand(),
		newVersionCommand(),
		newClusterCommand(),
		newNodeCommand(),
		newPutCommand(),
		newGetCommand(),
		newListCommand(),
		newRemoveCommand(),
		newStatCommand(),
	)
	return root
}

// exitError carries the exit status for an error. Errors cobra raises
// itself (unknown commands and flags, bad flag values, missing required
// flags) are not exitErrors and mean a usage error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a command line that parsed but makes no sense.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// cobraRunE is the type of cobra.Command.RunE.
type cobraRunE = func(cmd *cobra.Command, args []string) error

// runE adapts a command body that takes no arguments: errors it returns
// are runtime failures (status 1) unless they already carry a status.
func runE(fn func(cmd *cobra.Command) error) cobraRunE {
	return runArgsE(func(cmd *cobra.Command, _ []string) error { return fn(cmd) })
}

// runArgsE is runE for a body that reads its positional arguments.
func runArgsE(fn cobraRunE) cobraRunE {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if err == nil {
			return nil
		}
		if _, ok := errors.AsType[*exitError](err); ok {
			return err
		}
		return &exitError{code: exitRuntime, err: err}
	}
}

// loadConfig returns the configuration in path, or the embedded defaults
// when path is empty.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// oneLine folds a multi-line error message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// groupRunE makes a command that only groups subcommands answer a missing
// or unknown subcommand with a usage error. Without it cobra prints the
// help and exits 0, and a script's typo would pass as success.
func groupRunE(cmd *cobra.Command, args []string) error {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	if len(args) == 0 {
		return usageErrorf("missing subcommand: want one of %s", strings.Join(names, ", "))
	}
	return usageErrorf("unknown command %q: want one of %s", args[0], strings.Join(names, ", "))
}
