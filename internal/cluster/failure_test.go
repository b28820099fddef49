package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

func TestMinorityRefusesWrites(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(nil)
	// Stop the two others: the leader is left alone. The first write is
	// refused while it may still believe it leads (until its lease runs
	// out), the second once it has stepped down.
	lone := l
	for i := range c.nodes {
		if i != lone {
			c.stop(i)
		}
	}
	tests := []struct{ name string }{{"while its lease lasts"}, {"after stepping down"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cmd store.Command
			cmd.Put("b", []byte("k"), []byte("v"))
			start := time.Now()
			err := c.nodes[lone].Apply(context.Background(), cmd)
			took := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("apply in a minority = %v; want ErrUnavailable", err)
			}
			if took > 3*time.Second {
				t.Errorf("refusal took %v; want it bounded by the 2s apply timeout", took)
			}
			if !strings.Contains(err.Error(), "quorum") && !strings.Contains(err.Error(), "leader") {
				t.Errorf("refusal %q does not say why", err)
			}
			t.Logf("refused in %v: %v", took.Round(time.Millisecond), err)
		})
	}
	// Reads and status still answer.
	if v := get(t, c.nodes[lone], "b", "k"); v != nil {
		t.Errorf("an unacknowledged write is visible: %q", v)
	}
	st, err := c.nodes[lone].Status(context.Background())
	if err != nil {
		t.Fatalf("status in a minority: %v", err)
	}
	if st.LeaderID != "" {
		t.Errorf("status names leader %q in a minority", st.LeaderID)
	}
	unreachable := 0
	for _, n := range st.Nodes {
		if !n.Reachable {
			unreachable++
		}
	}
	if len(st.Nodes) != 3 || unreachable != 2 {
		t.Errorf("status: %d nodes, %d unreachable; want 3 and 2: %+v", len(st.Nodes), unreachable, st.Nodes)
	}
}

// TestPartition cuts the leader off from the two others: the majority
// elects a new leader and goes on, the old leader refuses writes, and once
// the partition heals every node agrees, without the refused write.
func TestPartition(t *testing.T) {
	c := startCluster(t, 3)
	old := c.waitLeader(nil)
	put(t, c.nodes[old], "b", "before", "1")
	for _, s := range c.nodes {
		waitValue(t, s, "b", "before", "1")
	}

	c.nodes[old].layer.isolate(true)
	var refused store.Command
	refused.Put("b", []byte("minority"), []byte("never acknowledged"))
	start := time.Now()
	err := c.nodes[old].Apply(context.Background(), refused)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write on the isolated leader = %v; want ErrUnavailable", err)
	}
	t.Logf("isolated leader refused in %v: %v", time.Since(start).Round(time.Millisecond), err)

	// The majority: a new leader among the two, writes accepted.
	var majority []*Store
	for i, s := range c.nodes {
		if i != old {
			majority = append(majority, s)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var cmd store.Command
		cmd.Put("b", []byte("majority"), []byte("2"))
		err := majority[0].Apply(context.Background(), cmd)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the majority accepts no write: %v", err)
		}
	}
	waitValue(t, majority[1], "b", "majority", "2")
	if v := get(t, c.nodes[old], "b", "majority"); v != nil {
		t.Errorf("the isolated node sees a write of the majority: %q", v)
	}

	c.nodes[old].layer.isolate(false)
	for _, s := range c.nodes {
		waitValue(t, s, "b", "majority", "2")
		if err := s.Sync(context.Background()); err != nil {
			t.Errorf("sync %s after healing: %v", s.NodeID(), err)
		}
		if v := get(t, s, "b", "minority"); v != nil {
			t.Errorf("%s holds the refused write %q", s.NodeID(), v)
		}
	}
	if c.waitLeader(nil) == -1 {
		t.Fatal("no leader after healing")
	}
}

func TestRemovedNodeRefusesWrites(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	l := c.waitLeader(nil)
	if err := c.nodes[l].Leave(context.Background(), c.cfgs[f].NodeID); err != nil {
		t.Fatal(err)
	}
	// The leader refuses what a node outside the configuration forwards.
	var cmd store.Command
	cmd.Put("b", []byte("from-removed"), []byte("x"))
	err := c.nodes[f].Apply(context.Background(), cmd)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write on a removed node = %v; want ErrUnavailable", err)
	}
	t.Logf("removed node refuses: %v", err)
	if err := c.nodes[l].Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := get(t, c.nodes[l], "b", "from-removed"); v != nil {
		t.Errorf("a refused write of the removed node reached the cluster: %q", v)
	}
	if _, err := c.nodes[f].Status(context.Background()); err != nil {
		t.Errorf("status of a removed node: %v", err)
	}
}

func TestLeaderFailover(t *testing.T) {
	c := startCluster(t, 3)
	old := c.waitLeader(nil)
	put(t, c.nodes[old], "b", "before", "1")
	for i := range c.nodes {
		waitValue(t, c.nodes[i], "b", "before", "1")
	}
	stopped := time.Now()
	c.stop(old)
	next := c.waitLeader(map[int]bool{old: true})
	t.Logf("new leader %s elected %v after the old one stopped", c.cfgs[next].NodeID, time.Since(stopped).Round(time.Millisecond))
	// Writes continue through either survivor.
	for i, s := range c.nodes {
		if s == nil {
			continue
		}
		put(t, s, "b", fmt.Sprintf("after-%d", i), "2")
	}
	for _, s := range c.nodes {
		if s == nil {
			continue
		}
		for i := range c.nodes {
			if i != old {
				waitValue(t, s, "b", fmt.Sprintf("after-%d", i), "2")
			}
		}
		waitValue(t, s, "b", "before", "1")
	}
}
