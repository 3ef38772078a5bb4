package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/api/client"
)

// stdinName is the FILE argument of put that means standard input.
const stdinName = "-"

// putOptions are the flags of put.
type putOptions struct {
	remote      remoteOptions
	entity      string
	description string
	filename    string
}

func newPutCommand() *cobra.Command {
	var o putOptions
	cmd := &cobra.Command{
		Use:   "put FILE... --entity TYPE/ID",
		Short: "Upload files for an entity and print their reference ids",
		Long: "put uploads each FILE, in order, as a new reference of the entity\n" +
			"TYPE/ID (e.g. ticket/T-42) and prints each new reference id on its\n" +
			"own line. FILE '-' reads standard input, named by --filename. The\n" +
			"first failure stops the command; the ids printed before it stand.",
		Args: cobra.MinimumNArgs(1),
	}
	f := cmd.Flags()
	o.remote.register(f)
	f.StringVar(&o.entity, "entity", "", "owning entity as `TYPE/ID`, e.g. ticket/T-42")
	f.StringVar(&o.description, "description", "", "description stored with each reference")
	f.StringVar(&o.filename, "filename", "",
		"file `name` to store: required for '-', and replaces the name of a single FILE")
	if err := cmd.MarkFlagRequired("entity"); err != nil {
		panic(err) // the flag is defined just above
	}

	cmd.RunE = runArgsE(o.run)
	return cmd
}

// run uploads the files one after another, so ids print in argument order.
func (o *putOptions) run(cmd *cobra.Command, args []string) error {
	etype, eid, err := parseEntity(o.entity)
	if err != nil {
		return err
	}
	if err := o.checkNames(args); err != nil {
		return err
	}
	c, err := o.remote.client()
	if err != nil {
		return err
	}

	for _, arg := range args {
		up := client.Upload{EntityType: etype, EntityID: eid, Description: o.description}
		id, err := o.putOne(cmd, c, arg, up)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(cmd.OutOrStdout(), id); err != nil {
			return err
		}
	}
	return nil
}

// checkNames rejects argument lists whose upload names are ambiguous.
func (o *putOptions) checkNames(args []string) error {
	dashes := 0
	for _, a := range args {
		if a == stdinName {
			dashes++
		}
	}
	switch {
	case dashes > 1:
		return usageErrorf("'-' given %d times; standard input can be read once", dashes)
	case dashes == 1 && o.filename == "":
		return usageErrorf("--filename: required to name the upload read from '-'")
	case o.filename != "" && len(args) > 1:
		return usageErrorf("--filename: names one upload, but %d FILEs were given", len(args))
	}
	return nil
}

// putOne uploads one FILE argument and returns the new reference id.
func (o *putOptions) putOne(cmd *cobra.Command, c *client.Client, arg string,
	up client.Upload) (string, error) {
	up.Filename = o.filename
	up.Body = cmd.InOrStdin()
	size := int64(-1)
	if arg != stdinName {
		f, err := os.Open(arg)
		if err != nil {
			return "", fmt.Errorf("put: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		if up.Filename == "" {
			up.Filename = filepath.Base(arg)
		}
		up.Body = f
	}

	bar := newProgress(cmd.ErrOrStderr(), size, "put "+up.Filename)
	up.Body = io.TeeReader(up.Body, bar)
	ref, err := c.Put(cmd.Context(), up)
	bar.end(err == nil)
	if err != nil {
		return "", explain(err, "put", arg)
	}
	return ref.ID, nil
}

// parseEntity splits "TYPE/ID". Which characters each part may hold is
// the server's rule, so only the shape is checked here.
func parseEntity(s string) (etype, eid string, err error) {
	etype, eid, ok := strings.Cut(s, "/")
	if !ok || etype == "" || eid == "" {
		return "", "", usageErrorf("--entity: want TYPE/ID, e.g. ticket/T-42, got %q", s)
	}
	return etype, eid, nil
}

// getOptions are the flags of get.
type getOptions struct {
	remote remoteOptions
	output string
}

func newGetCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get ID [-o FILE]",
		Short: "Download a reference's bytes",
		Long: "get writes the bytes of reference ID to standard output, or with -o\n" +
			"to FILE. FILE appears only once the whole download arrived: it is\n" +
			"written under a temporary name beside it and renamed, so a failed\n" +
			"download leaves FILE as it was.",
		Args: cobra.ExactArgs(1),
	}
	o.remote.register(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "",
		"write to `FILE` instead of standard output ('-' is standard output)")

	cmd.RunE = runArgsE(o.run)
	return cmd
}

func (o *getOptions) run(cmd *cobra.Command, args []string) error {
	id := args[0]
	c, err := o.remote.client()
	if err != nil {
		return err
	}
	// An interrupted download ends through the error path, which removes
	// the temporary file, instead of the process dying beside it.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The size is only asked for when a bar could be drawn; scripts pay
	// no extra request.
	size := int64(-1)
	if isTerminal(cmd.ErrOrStderr()) {
		st, err := c.Stat(ctx, id)
		if err != nil {
			return explain(err, "get", id)
		}
		size = st.Size
	}
	bar := newProgress(cmd.ErrOrStderr(), size, "get "+id)

	if o.output == "" || o.output == stdinName {
		_, err = c.Get(ctx, id, io.MultiWriter(cmd.OutOrStdout(), bar))
	} else {
		err = downloadFile(ctx, c, id, o.output, bar)
	}
	bar.end(err == nil)
	if err != nil {
		return explain(err, "get", id)
	}
	return nil
}

// downloadFile writes reference id to path through a temporary file in
// the same directory, synced and then renamed over path, so that path
// holds either its old content or the whole download, never a part.
func downloadFile(ctx context.Context, c *client.Client, id, path string, bar io.Writer) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	if _, err := c.Get(ctx, id, io.MultiWriter(tmp, bar)); err != nil {
		return err
	}
	if err := finishFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	done = true
	return nil
}

// finishFile makes a downloaded file durable and readable as a file
// written by hand would be (CreateTemp makes it private), then closes it.
func finishFile(f *os.File) error {
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}
