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
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status. It
// writes results to stdout and errors, as one line each, to stderr.
// Cancelling ctx stops a running serve as SIGINT would.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
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

// newRootCommand builds the command tree. Output goes to stdout and
// stderr rather than os.Stdout and os.Stderr, so tests can read it.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
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
	root.SetOut(stdout)
	root.SetErr(stderr)

	root.AddCommand(
		newServeCommand(),
		newConfigCommand(),
		newTokenCommand(),
		newVersionCommand(),
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

// runE adapts a command body: errors it returns are runtime failures
// (status 1) unless they already carry a status.
func runE(fn func(cmd *cobra.Command) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		err := fn(cmd)
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
