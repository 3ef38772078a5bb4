package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/node"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect the cluster a node belongs to",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newClusterStatusCommand())
	return cmd
}

func newClusterStatusCommand() *cobra.Command {
	var (
		remote  remoteOptions
		rawJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show members, leader, layout and per-node figures",
		Long: "status asks any node for the cluster's state (admin permission) and\n" +
			"prints a header line with the leader, layout version, replication\n" +
			"factor and totals, then one row per member. A member the node could\n" +
			"not reach shows '-' for its figures and its error below the table.",
		Args: cobra.NoArgs,
	}
	remote.register(cmd.Flags())
	cmd.Flags().BoolVar(&rawJSON, "json", false, "print the node's JSON answer instead")

	cmd.RunE = runE(func(cmd *cobra.Command) error {
		ac, err := remote.admin()
		if err != nil {
			return err
		}
		raw, err := ac.ClusterStatus(cmd.Context())
		if err != nil {
			return explain(err, "cluster status", "from "+ac.Base())
		}
		if rawJSON {
			return writeIndented(cmd.OutOrStdout(), raw)
		}
		var st node.ClusterStatus
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("cluster status: decode answer: %w", err)
		}
		return writeClusterStatus(cmd.OutOrStdout(), st)
	})
	return cmd
}

// writeIndented writes a JSON document indented, with a final newline.
func writeIndented(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("indent answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// writeClusterStatus prints the header line, the member table and the
// members' errors.
func writeClusterStatus(w io.Writer, st node.ClusterStatus) error {
	if _, err := fmt.Fprintln(w, statusHeader(st)); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tALIVE\tROLE\tZONE\tCHUNKS\tSTORED\tFREE\tPENDING\tUNDER-REPL")
	for _, ns := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ns.ID, ns.State, yesNo(ns.Alive),
			role(ns), orDash(ns.Zone), statsColumns(ns.Stats))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, ns := range st.Nodes {
		if ns.Error != "" {
			if _, err := fmt.Fprintf(w, "%s: %s\n", ns.ID, oneLine(ns.Error)); err != nil {
				return err
			}
		}
	}
	return nil
}

// statusHeader sums the members' figures into one line. Members without
// figures count only towards the member totals.
func statusHeader(st node.ClusterStatus) string {
	var alive int
	var chunks, stored, free int64
	for _, ns := range st.Nodes {
		if ns.Alive {
			alive++
		}
		if ns.Stats != nil {
			chunks += ns.Stats.Chunks
			stored += ns.Stats.StoredBytes
			free += ns.Stats.FreeBytes
		}
	}
	return fmt.Sprintf("leader %s, layout version %d, replicas %d, %d nodes (%d alive), "+
		"%d chunk copies, %s stored, %s free, %d under-replicated, %d pending moves",
		orDash(st.Leader), st.LayoutVersion, st.Replicas, len(st.Nodes), alive,
		chunks, humanBytes(stored), humanBytes(free), st.UnderReplicated, st.PendingMoves)
}

// statsColumns renders the figure columns, "-" each when there are none.
func statsColumns(s *node.NodeStats) string {
	if s == nil {
		return "-\t-\t-\t-\t-"
	}
	return fmt.Sprintf("%d\t%s\t%s\t%d\t%d", s.Chunks, humanBytes(s.StoredBytes),
		humanBytes(s.FreeBytes), s.PendingMoves, s.UnderReplicated)
}

// role names the member's part in the metadata group.
func role(ns node.NodeStatus) string {
	switch {
	case ns.Leader:
		return "leader"
	case ns.Voter:
		return "voter"
	default:
		return "nonvoter"
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanBytes renders n in binary units with one decimal: "512 B",
// "1.5 KiB", "20.0 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
