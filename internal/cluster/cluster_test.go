package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/store/storetest"
)

// TestConformance runs the store conformance suite against a follower of a
// three-node cluster on loopback TLS: every write is forwarded to the
// leader, committed on a quorum and read back from the follower's file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		c := startCluster(t, 3)
		return c.nodes[c.follower()]
	})
}

func TestReplicatesToEveryNode(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	put(t, c.nodes[f], "b", "k", "written on a follower")
	for i, s := range c.nodes {
		t.Run(fmt.Sprintf("node%d", i), func(t *testing.T) {
			waitValue(t, s, "b", "k", "written on a follower")
		})
	}
	// The writer reads its own write at once, without waiting.
	if got := get(t, c.nodes[f], "b", "k"); string(got) != "written on a follower" {
		t.Errorf("the writing follower reads %q", got)
	}
}

func TestConflictOnFollowerIsTheCommandsResult(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	put(t, c.nodes[f], "b", "k", "1")
	var cmd store.Command
	cmd.RequireAbsent("b", []byte("k"))
	cmd.Put("b", []byte("other"), []byte("x"))
	err := c.nodes[f].Apply(context.Background(), cmd)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("apply = %v; want ErrConflict", err)
	}
	if v := get(t, c.nodes[f], "b", "other"); v != nil {
		t.Errorf("a refused command wrote %q", v)
	}
}

func TestReservedAppliedIndex(t *testing.T) {
	c := startCluster(t, 1)
	var cmd store.Command
	cmd.Put(store.SysBucket, []byte(appliedKey), []byte{0, 0, 0, 0, 0, 0, 0, 1})
	if err := c.nodes[0].Apply(context.Background(), cmd); !errors.Is(err, store.ErrInvalidCommand) {
		t.Fatalf("write of the applied index = %v; want ErrInvalidCommand", err)
	}
}

func TestStatus(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(nil)
	put(t, c.nodes[l], "b", "k", "v")
	st, err := c.nodes[c.follower()].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LeaderID != c.cfgs[l].NodeID || st.Term == 0 || st.LastIndex == 0 {
		t.Errorf("status = %+v", st)
	}
	if len(st.Nodes) != 3 {
		t.Fatalf("status lists %d nodes; want 3", len(st.Nodes))
	}
	for _, n := range st.Nodes {
		if !n.Reachable || n.Suffrage != "Voter" || n.AppliedIndex == 0 || n.Leader != (n.ID == c.cfgs[l].NodeID) {
			t.Errorf("node %+v", n)
		}
	}
}

func TestLeave(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	id := c.cfgs[f].NodeID
	if err := c.nodes[c.follower()].Leave(context.Background(), id); err != nil {
		t.Fatalf("leave: %v", err)
	}
	c.stop(f)
	// Two voters left: both are needed, and both are up.
	for _, s := range c.nodes {
		if s != nil {
			put(t, s, "b", "after-leave-"+s.NodeID(), "v")
		}
	}
	st, err := c.nodes[c.waitLeader(nil)].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		if n.ID == id {
			t.Errorf("node %s still listed after leaving", id)
		}
	}
	for _, s := range c.nodes {
		if s == nil {
			continue
		}
		if err := s.Leave(context.Background(), "nobody"); !errors.Is(err, ErrUnknownNode) {
			t.Errorf("leave of an unknown node through %s = %v; want ErrUnknownNode", s.NodeID(), err)
		}
	}
}

// TestCatchUpBySnapshot stops a follower, writes past the snapshot
// threshold (the log before the snapshot is compacted away), restarts the
// follower: it catches up by installing the leader's snapshot.
func TestCatchUpBySnapshot(t *testing.T) {
	c := startCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 4
		cfg.SnapshotInterval = 100 * time.Millisecond
	})
	l := c.waitLeader(nil)
	f := c.follower()
	c.stop(f)
	for i := range 100 {
		put(t, c.nodes[l], "b", fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i))
	}
	// Wait for the leader's snapshot and compaction.
	deadline := time.Now().Add(10 * time.Second)
	for {
		snaps, _ := filepath.Glob(filepath.Join(c.cfgs[l].DataDir, RaftDir, "snapshots", "*", "state.bin"))
		first, err := c.nodes[l].logs.FirstIndex()
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) > 0 && first > 1 {
			t.Logf("leader snapshots: %d; first log index %d", len(snaps), first)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot and compaction on the leader (snapshots %d, first index %d)", len(snaps), first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := c.restart(f)
	for i := range 100 {
		waitValue(t, s, "b", fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i))
	}
	// It caught up by a snapshot: the log it needed was compacted away.
	if snaps, _ := filepath.Glob(filepath.Join(c.cfgs[f].DataDir, RaftDir, "snapshots", "*", "state.bin")); len(snaps) == 0 {
		t.Error("the restarted follower holds no installed snapshot")
	}
	// It then follows the log again.
	put(t, c.nodes[l], "b", "later", "x")
	waitValue(t, s, "b", "later", "x")
}

// TestRestartReplaysOnlyWhatIsMissing restarts a follower whose file holds
// every entry: a replay of the whole log would change the result, since a
// precondition that held then fails now.
func TestRestartReplaysOnlyWhatIsMissing(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(nil)
	put(t, c.nodes[l], "b", "c", "1")
	var cmd store.Command
	cmd.RequireAbsent("b", []byte("a"))
	cmd.Put("b", []byte("c"), []byte("2"))
	if err := c.nodes[l].Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	put(t, c.nodes[l], "b", "a", "x")
	f := c.follower()
	waitValue(t, c.nodes[f], "b", "a", "x")
	c.stop(f)
	s := c.restart(f)
	put(t, c.nodes[c.waitLeader(nil)], "b", "after", "y")
	waitValue(t, s, "b", "after", "y")
	if got := get(t, s, "b", "c"); string(got) != "2" {
		t.Errorf("after restart b/c = %q; want 2 (an applied entry was replayed)", got)
	}
}

// TestRefusesPeerWithoutNodeCertificate: a client certificate from the same
// CA (a KMIP or admin client) cannot speak to the cluster port.
func TestRefusesPeerWithoutNodeCertificate(t *testing.T) {
	c := startCluster(t, 1)
	tests := []struct {
		name string
		cert tls.Certificate
		ok   bool
	}{
		{"node certificate", c.pki.node, true},
		{"client certificate", c.pki.client, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{
				Certificates: []tls.Certificate{tc.cert}, RootCAs: c.pki.pool, ServerName: "localhost",
				MinVersion: tls.VersionTLS13,
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", c.nodes[0].Addr(), conf)
			if err == nil {
				// In TLS 1.3 the server's verdict on the client
				// certificate arrives with the first read.
				_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
				_, err = conn.Write([]byte{connForward, reqStatus, 0})
				if err == nil {
					var b [1]byte
					_, err = conn.Read(b[:])
				}
				conn.Close()
			}
			if tc.ok && err != nil {
				t.Errorf("node certificate refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Error("client certificate accepted on the cluster port")
			}
		})
	}
}

func TestOpenChecksConfig(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	base := Config{
		NodeID: "n", BindAddr: "127.0.0.1:0", DataDir: dir, StorePath: filepath.Join(dir, "keywarden.db"),
		Certificate: p.node, CA: p.pool,
	}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no node id", func(c *Config) { c.NodeID = "" }},
		{"no address", func(c *Config) { c.BindAddr = "" }},
		{"unspecified advertised host", func(c *Config) { c.BindAddr = "0.0.0.0:0" }},
		{"no CA", func(c *Config) { c.CA = nil }},
		{"no certificate", func(c *Config) { c.Certificate = tls.Certificate{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			s, err := Open(cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the configuration")
			}
		})
	}
	// The store file is released after a refused start.
	if _, err := os.Stat(base.StorePath); err == nil {
		s, err := store.OpenBolt(base.StorePath, store.BoltOptions{})
		if err != nil {
			t.Fatalf("store file still held: %v", err)
		}
		s.Close()
	}
}

func TestSyncCatchesUp(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(nil)
	f := c.follower()
	for i := range 20 {
		put(t, c.nodes[l], "b", fmt.Sprintf("k%d", i), "v")
	}
	if err := c.nodes[f].Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// No waiting: Sync returned after the follower applied every write.
	for i := range 20 {
		if v := get(t, c.nodes[f], "b", fmt.Sprintf("k%d", i)); string(v) != "v" {
			t.Errorf("after Sync, k%d = %q", i, v)
		}
	}
}

func TestOnAppliedOnEveryNode(t *testing.T) {
	type seen struct {
		mu      sync.Mutex
		buckets map[string]bool
	}
	var perNode [3]seen
	var next atomic.Int32
	c := startCluster(t, 3, func(cfg *Config) {
		s := &perNode[next.Add(1)-1]
		s.buckets = map[string]bool{}
		cfg.OnApplied = func(buckets []string) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, b := range buckets {
				s.buckets[b] = true
			}
		}
	})
	put(t, c.nodes[c.follower()], "revoked", "fp", "x")
	var refused store.Command
	refused.RequireAbsent("revoked", []byte("fp"))
	refused.Put("untouched", []byte("k"), []byte("v"))
	if err := c.nodes[0].Apply(context.Background(), refused); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("apply = %v; want ErrConflict", err)
	}
	for i, s := range c.nodes {
		waitValue(t, s, "revoked", "fp", "x")
		if err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		perNode[i].mu.Lock()
		if !perNode[i].buckets["revoked"] || perNode[i].buckets["untouched"] {
			t.Errorf("node %d was told of %v; want revoked and not untouched", i, perNode[i].buckets)
		}
		perNode[i].mu.Unlock()
	}
}
