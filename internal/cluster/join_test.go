package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestRequestJoinWaitsForALeader: a node that asks to join while the
// cluster has no leader (a two-node cluster with one node down) keeps
// asking until a leader is elected, instead of failing at once; with no
// leader before its deadline it fails with ErrUnavailable.
func TestRequestJoinWaitsForALeader(t *testing.T) {
	c := startCluster(t, 2)
	c.stop(1)
	deadline := time.Now().Add(10 * time.Second)
	for id, _ := c.nodes[0].Leader(); id != ""; id, _ = c.nodes[0].Leader() {
		if time.Now().After(deadline) {
			t.Fatal("node0 still names a leader without a quorum")
		}
		time.Sleep(20 * time.Millisecond)
	}
	dir := t.TempDir()
	joiner, err := Open(Config{
		NodeID: "joiner", BindAddr: "127.0.0.1:0", DataDir: dir, StorePath: filepath.Join(dir, "keywarden.db"),
		Certificate: c.pki.node, CA: c.pki.pool, Logger: testLogger(),
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		LeaderLeaseTimeout: 300 * time.Millisecond, ApplyTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { joiner.Close() })

	t.Run("no leader before the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := joiner.RequestJoin(ctx, c.nodes[0].Addr())
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("join without a leader = %v; want ErrUnavailable", err)
		}
	})
	t.Run("a leader is elected meanwhile", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- joiner.RequestJoin(ctx, c.nodes[0].Addr()) }()
		select {
		case err := <-done:
			t.Fatalf("join returned while there was no leader: %v", err)
		case <-time.After(700 * time.Millisecond):
		}
		c.restart(1)
		if err := <-done; err != nil {
			t.Fatalf("join after the election: %v", err)
		}
		if err := joiner.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
