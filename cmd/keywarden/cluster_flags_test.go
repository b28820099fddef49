package main

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/server"
)

// TestClusterFlagSpellings: --cluster and --cluster-addr set the same
// address.
func TestClusterFlagSpellings(t *testing.T) {
	for _, flag := range []string{"--cluster", "--cluster-addr"} {
		t.Run(flag, func(t *testing.T) {
			var c server.ClusterConfig
			cmd := &cobra.Command{Use: "serve"}
			addClusterFlags(cmd, &c)
			if err := cmd.ParseFlags([]string{flag, "127.0.0.1:7946", "--node-id", "n1"}); err != nil {
				t.Fatal(err)
			}
			if c.Addr != "127.0.0.1:7946" || c.NodeID != "n1" {
				t.Fatalf("config %+v", c)
			}
		})
	}
}
