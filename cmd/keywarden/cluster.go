package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/server"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show and change the members of a replicated cluster (docs/cluster.md)",
		Long: `Commands for a running cluster node, over the admin API of any member (a follower
forwards membership changes to the leader).

A node is started with:

  keywarden serve --data-dir DIR --cluster-addr HOST:PORT --node-id ID [--bootstrap | --join MEMBER_CLUSTER_ADDR]

from a data directory that holds the installation's master key and CA (a copy of a
member's directory, or a restored backup): see docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newClusterStatusCommand(), newClusterJoinCommand(), newClusterLeaveCommand())
	return cmd
}

func newClusterStatusCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the leader, the term, the log indexes and every member's health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				st, err := c.ClusterStatus(cmd.Context())
				if err != nil {
					return err
				}
				return printCluster(cmd, &r, st)
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newClusterJoinCommand() *cobra.Command {
	var (
		r        remote
		id, addr string
	)
	cmd := &cobra.Command{
		Use:   "join",
		Short: "Add a running node as a voter",
		Long: `Add a node that runs (started with --cluster-addr and --node-id, without --bootstrap)
as a voter. --node-addr is the new node's cluster address (--addr stays the admin API address of the member asked). The node then catches up from the
leader (log replay or snapshot). A node started with --join does this itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				st, err := c.ClusterJoin(cmd.Context(), id, addr)
				if err != nil {
					return err
				}
				return printCluster(cmd, &r, st)
			})
		},
	}
	cmd.Flags().StringVar(&id, "node-id", "", "the new node's id (its --node-id)")
	cmd.Flags().StringVar(&addr, "node-addr", "", "the new node's cluster address HOST:PORT (its --cluster-addr)")
	_ = cmd.MarkFlagRequired("node-id")
	_ = cmd.MarkFlagRequired("node-addr")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newClusterLeaveCommand() *cobra.Command {
	var (
		r  remote
		id string
	)
	cmd := &cobra.Command{
		Use:   "leave",
		Short: "Remove a node from the cluster before retiring it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				st, err := c.ClusterLeave(cmd.Context(), id)
				if err != nil {
					return err
				}
				return printCluster(cmd, &r, st)
			})
		},
	}
	cmd.Flags().StringVar(&id, "node-id", "", "the id of the node to remove")
	_ = cmd.MarkFlagRequired("node-id")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// printCluster writes a cluster status as a table or JSON.
func printCluster(cmd *cobra.Command, r *remote, st *client.ClusterStatus) error {
	return r.print(cmd.OutOrStdout(), st, func(w *tabwriter.Writer) {
		leader := st.LeaderID
		if leader == "" {
			leader = "NONE (no quorum: writes are refused)"
		}
		row(w, "node", st.NodeID+" ("+st.State+")")
		row(w, "leader", leader)
		row(w, "term", strconv.FormatUint(st.Term, 10))
		row(w, "last index", strconv.FormatUint(st.LastIndex, 10))
		row(w, "commit index", strconv.FormatUint(st.CommitIndex, 10))
		row(w, "applied index", strconv.FormatUint(st.AppliedIndex, 10))
		fmt.Fprintln(w)
		row(w, "ID", "ADDRESS", "SUFFRAGE", "STATE", "HEALTH", "TERM", "APPLIED")
		for _, n := range st.Nodes {
			health := "ok"
			if !n.Reachable {
				health = "unreachable: " + n.Error
			}
			state := n.State
			if n.Leader {
				state += " *"
			}
			term, applied := "", ""
			if n.Reachable {
				term, applied = strconv.FormatUint(n.Term, 10), strconv.FormatUint(n.AppliedIndex, 10)
			}
			row(w, n.ID, n.Address, n.Suffrage, state, health, term, applied)
		}
	})
}

// addClusterFlags adds the cluster flags of serve.
func addClusterFlags(cmd *cobra.Command, c *server.ClusterConfig) {
	f := cmd.Flags()
	f.StringVar(&c.Addr, "cluster-addr", "", "run as a cluster node: the cluster listener HOST:PORT, for Raft and forwarded writes (docs/cluster.md)")
	f.StringVar(&c.Advertise, "cluster-advertise", "", "the cluster address other nodes reach this one at (default: --cluster-addr)")
	f.StringVar(&c.NodeID, "node-id", "", "this node's id in the cluster (unique, stable)")
	f.BoolVar(&c.Bootstrap, "bootstrap", false, "start a new cluster with this node as its first voter (ignored once the node has Raft state)")
	f.StringVar(&c.Join, "join", "", "the cluster address of a member to ask to add this node")
	// --cluster is the short spelling of --cluster-addr (keywarden serve --cluster HOST:PORT …).
	f.StringVar(&c.Addr, "cluster", "", "same as --cluster-addr")
}
