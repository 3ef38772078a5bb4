package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/api/client"
)

// listOptions are the flags of ls.
type listOptions struct {
	remote   remoteOptions
	json     bool
	pageSize int
}

func newListCommand() *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "ls TYPE/ID",
		Short: "List an entity's files, oldest first",
		Long: "ls prints every live reference of the entity TYPE/ID, oldest first:\n" +
			"id, size, MIME type, creation time and file name. It follows the\n" +
			"server's pages to the end; --json prints them as one JSON array.",
		Args: cobra.ExactArgs(1),
	}
	o.remote.register(cmd.Flags())
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON array of the references")
	cmd.Flags().IntVar(&o.pageSize, "page-size", 0,
		"references per request (`n`; default: the server's)")

	cmd.RunE = runArgsE(o.run)
	return cmd
}

func (o *listOptions) run(cmd *cobra.Command, args []string) error {
	etype, eid, err := parseEntity(args[0])
	if err != nil {
		return err
	}
	if o.pageSize < 0 {
		return usageErrorf("--page-size: must not be negative, got %d", o.pageSize)
	}
	c, err := o.remote.client()
	if err != nil {
		return err
	}
	files, err := listAll(cmd.Context(), c, etype, eid, o.pageSize)
	if err != nil {
		return explain(err, "ls", args[0])
	}
	if o.json {
		return writeJSON(cmd.OutOrStdout(), files)
	}
	return writeFileTable(cmd.OutOrStdout(), files)
}

// listAll follows next_cursor from the first page to the last. A server
// that hands back the cursor it was given would loop forever, so that is
// an error.
func listAll(ctx context.Context, c *client.Client, etype, eid string,
	pageSize int) ([]client.File, error) {
	files := []client.File{}
	cursor := ""
	for {
		page, next, err := c.List(ctx, etype, eid, cursor, pageSize)
		if err != nil {
			return nil, err
		}
		files = append(files, page...)
		if next == "" {
			return files, nil
		}
		if next == cursor {
			return nil, fmt.Errorf("server repeated cursor %q", cursor)
		}
		cursor = next
	}
}

// writeFileTable prints one row per reference under a heading.
func writeFileTable(w io.Writer, files []client.File) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tMIME\tCREATED\tFILENAME")
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.ID, f.Size, orDash(f.MIME),
			f.CreatedAt.UTC().Format(time.RFC3339), f.Filename)
	}
	return tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRemoveCommand() *cobra.Command {
	var remote remoteOptions
	cmd := &cobra.Command{
		Use:   "rm ID...",
		Short: "Delete references",
		Long: "rm deletes each reference ID. The bytes stay while other references\n" +
			"share them. Every ID is tried; the command exits 1 if any failed,\n" +
			"naming each that did.",
		Args: cobra.MinimumNArgs(1),
	}
	remote.register(cmd.Flags())

	cmd.RunE = runArgsE(func(cmd *cobra.Command, args []string) error {
		c, err := remote.client()
		if err != nil {
			return err
		}
		var errs []error
		for _, id := range args {
			if err := c.Delete(cmd.Context(), id); err != nil {
				errs = append(errs, explain(err, "rm", id))
			}
		}
		return errors.Join(errs...)
	})
	return cmd
}

func newStatCommand() *cobra.Command {
	var remote remoteOptions
	cmd := &cobra.Command{
		Use:   "stat ID",
		Short: "Print a reference's metadata as JSON",
		Args:  cobra.ExactArgs(1),
	}
	remote.register(cmd.Flags())

	cmd.RunE = runArgsE(func(cmd *cobra.Command, args []string) error {
		c, err := remote.client()
		if err != nil {
			return err
		}
		f, err := c.Stat(cmd.Context(), args[0])
		if err != nil {
			return explain(err, "stat", args[0])
		}
		return writeJSON(cmd.OutOrStdout(), f)
	})
	return cmd
}
