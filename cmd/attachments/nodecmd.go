package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// nodeActions are the node subcommands: the action sent to the server,
// its help and the confirmation printed once the layout change committed.
var nodeActions = []struct {
	action string
	short  string
	long   string
	done   string
}{
	{
		action: "add",
		short:  "Make a node own chunks (again)",
		long: "add sets node ID active in the layout: chunks are placed on it and\n" +
			"the rebalancer moves its share to it. It also brings back a node\n" +
			"that was draining or out.",
		done: "node %s is active; its share of the chunks moves to it",
	},
	{
		action: "drain",
		short:  "Move every chunk off a node",
		long: "drain sets node ID draining: it owns nothing any more and the\n" +
			"rebalancer copies its chunks to their new owners. Once it holds\n" +
			"nothing they need, it turns out, and 'node remove' may forget it.",
		done: "node %s is draining; 'cluster status' shows it out when its chunks have moved",
	},
	{
		action: "remove",
		short:  "Forget a node that is out",
		long: "remove drops node ID from the layout and from the metadata group.\n" +
			"The node must be out (drain it first, or it was down past\n" +
			"cluster.down_out_interval) and hold no chunk still to be copied;\n" +
			"otherwise the server refuses and the command exits 1.",
		done: "node %s removed from the cluster",
	},
}

func newNodeCommand() *cobra.Command {
	var remote remoteOptions
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Add, drain or remove a cluster member",
		Long: "node changes a member's place in the layout through any node\n" +
			"(admin permission). Each command prints one line once the change\n" +
			"is committed; moving the chunks happens afterwards, in the background.",
		RunE: groupRunE,
	}
	remote.register(cmd.PersistentFlags())

	for _, a := range nodeActions {
		sub := &cobra.Command{
			Use:   a.action + " ID",
			Short: a.short,
			Long:  a.long,
			Args:  cobra.ExactArgs(1),
		}
		sub.RunE = runArgsE(func(cmd *cobra.Command, args []string) error {
			ac, err := remote.admin()
			if err != nil {
				return err
			}
			id := args[0]
			if err := ac.NodeAction(cmd.Context(), id, a.action); err != nil {
				return explain(err, "node "+a.action, id)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), a.done+"\n", id)
			return err
		})
		cmd.AddCommand(sub)
	}
	return cmd
}
