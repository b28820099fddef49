package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keywarden/keywarden/internal/store"
)

// statusTimeout bounds the status query of one other node.
const statusTimeout = time.Second

// membershipTimeout bounds a membership change on the leader.
const membershipTimeout = 10 * time.Second

// joinRequest is the payload of a forwarded join.
type joinRequest struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// Join adds the node id, reachable at addr (its cluster address), as a
// voter. It runs on the leader; a follower forwards it. The new node must
// already run (started without Bootstrap, from a data directory holding
// the installation's master key and CA): it then receives the log or a
// snapshot and catches up.
func (s *Store) Join(ctx context.Context, id, addr string) error {
	if id == "" || len(id) > 128 {
		return errors.New("cluster: join: a node id of 1 to 128 bytes is required")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("cluster: join: node address %q: %w", addr, err)
	}
	payload, err := json.Marshal(joinRequest{ID: id, Addr: addr})
	if err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	return s.onLeader(ctx, reqJoin, payload, func() error { return s.addLocal(id, addr) })
}

// Leave removes the node id from the cluster (it runs on the leader; a
// follower forwards it). Remove a node before retiring it for good, so that
// the quorum is counted without it.
func (s *Store) Leave(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("cluster: leave: a node id is required")
	}
	return s.onLeader(ctx, reqLeave, []byte(id), func() error { return s.removeLocal(id) })
}

// onLeader runs local when this node leads, else sends the request to the
// leader.
func (s *Store) onLeader(ctx context.Context, kind byte, payload []byte, local func() error) error {
	if s.closed.Load() {
		return errors.New("cluster: node closed")
	}
	if s.raft.State() == raft.Leader {
		return local()
	}
	addr, id := s.raft.LeaderWithID()
	if addr == "" {
		return fmt.Errorf("%w: no leader elected: node %s cannot reach a quorum", ErrUnavailable, s.cfg.NodeID)
	}
	ctx, cancel := context.WithTimeout(ctx, membershipTimeout+time.Second)
	defer cancel()
	res, err := s.fwd.call(ctx, string(addr), kind, payload)
	if err != nil {
		return fmt.Errorf("%w: leader %s: %w", ErrUnavailable, id, err)
	}
	switch res.code {
	case codeOK:
		return nil
	case codeNotLeader:
		return fmt.Errorf("%w: node %s stopped leading; retry", ErrNotLeader, id)
	case codeUnavailable:
		return fmt.Errorf("%w: leader %s: %s", ErrUnavailable, id, res.payload)
	case codeUnknownNode:
		return fmt.Errorf("%w (leader %s: %s)", ErrUnknownNode, id, res.payload)
	default:
		return fmt.Errorf("cluster: leader %s: %s", id, res.payload)
	}
}

// handleJoin adds a voter on behalf of another node.
func (s *Store) handleJoin(payload []byte) rpcResult {
	var req joinRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return rpcResult{code: codeFailed, payload: []byte("malformed join request")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), membershipTimeout+2*time.Second)
	defer cancel()
	// Join forwards to the leader when this node does not lead.
	return resultOf(0, s.Join(ctx, req.ID, req.Addr))
}

// RequestJoin asks the member at memberAddr (its cluster address) to add
// this node as a voter: the request travels on the mutually authenticated
// cluster connection, so no administrator credential is needed. The node
// then catches up from the leader.
func (s *Store) RequestJoin(ctx context.Context, memberAddr string) error {
	payload, err := json.Marshal(joinRequest{ID: s.cfg.NodeID, Addr: s.Addr()})
	if err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, membershipTimeout+5*time.Second)
	defer cancel()
	for {
		res, err := s.fwd.call(ctx, memberAddr, reqJoin, payload)
		if err != nil {
			return fmt.Errorf("cluster: join through %s: %w", memberAddr, err)
		}
		switch res.code {
		case codeOK:
			s.log.Info("cluster: joined", "through", memberAddr)
			return nil
		case codeUnavailable, codeNotLeader:
			// An election is under way (a cluster of two loses its leader
			// while the second node catches up on a busy host): retry
			// until ctx ends. Adding a voter twice is harmless.
			s.log.Warn("cluster: join refused for now; retrying", "through", memberAddr, "reason", string(res.payload))
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: join through %s: %s", ErrUnavailable, memberAddr, res.payload)
			case <-time.After(joinRetryPause):
			}
		default:
			return fmt.Errorf("cluster: join through %s: %s", memberAddr, res.payload)
		}
	}
}

// joinRetryPause is the pause between two join requests refused for want
// of a leader.
const joinRetryPause = 250 * time.Millisecond

// Sync commits an empty entry through the leader and waits until this node
// has applied it: afterwards the node's file holds every write committed
// before the call (a node that just joined or restarted has caught up).
func (s *Store) Sync(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	idx, _, err := s.propose(ctx, store.Encode(store.Command{}))
	if err != nil {
		return err
	}
	if err := s.fsm.waitApplied(ctx, idx); err != nil {
		return s.unavailable(fmt.Sprintf("entry %d is committed, but this node has not applied it yet", idx))
	}
	return nil
}

// WaitLeader waits until this node knows a leader or ctx ends.
func (s *Store) WaitLeader(ctx context.Context) error {
	for {
		if id, _ := s.Leader(); id != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: no leader known to node %s", ErrUnavailable, s.cfg.NodeID)
		case <-time.After(retryPause):
		}
	}
}

// addLocal adds a voter; this node must lead.
func (s *Store) addLocal(id, addr string) error {
	if s.raft.State() != raft.Leader {
		return fmt.Errorf("%w: node %s", ErrNotLeader, s.cfg.NodeID)
	}
	if err := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, membershipTimeout).Error(); err != nil {
		return membershipError("add node "+id, err)
	}
	s.log.Info("cluster: node added", "id", id, "addr", addr)
	return nil
}

// removeLocal removes a server; this node must lead.
func (s *Store) removeLocal(id string) error {
	if s.raft.State() != raft.Leader {
		return fmt.Errorf("%w: node %s", ErrNotLeader, s.cfg.NodeID)
	}
	known := false
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			known = known || string(srv.ID) == id
		}
	}
	if !known {
		return fmt.Errorf("%w: %s is not a member of the cluster", ErrUnknownNode, id)
	}
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, membershipTimeout).Error(); err != nil {
		return membershipError("remove node "+id, err)
	}
	s.log.Info("cluster: node removed", "id", id)
	return nil
}

// membershipError maps Raft's errors of a configuration change.
func membershipError(what string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
		return fmt.Errorf("%w: %s: %w", ErrNotLeader, what, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("cluster: %s: %w", what, err)
}

// Status is what a node knows of the cluster.
type Status struct {
	// NodeID, Address and State describe the node that answers.
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	State   string `json:"state"`
	// LeaderID and LeaderAddress name the leader this node follows; empty
	// when there is none (no quorum).
	LeaderID      string `json:"leader_id"`
	LeaderAddress string `json:"leader_address"`
	// Term, LastIndex, CommitIndex and AppliedIndex are this node's Raft
	// counters.
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Nodes are the members of the cluster configuration, each queried
	// for its health.
	Nodes []NodeStatus `json:"nodes"`
}

// NodeStatus is one member and its health, as it reported it.
type NodeStatus struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
	// Reachable says whether the node answered; State and the counters are
	// its own answer, Error why it did not answer.
	Reachable    bool   `json:"reachable"`
	State        string `json:"state,omitempty"`
	Term         uint64 `json:"term,omitempty"`
	LastIndex    uint64 `json:"last_index,omitempty"`
	AppliedIndex uint64 `json:"applied_index,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Leader returns the leader's id and cluster address, empty when there is
// none.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// local returns this node's own view of itself.
func (s *Store) local() NodeStatus {
	leaderAddr, leaderID := s.raft.LeaderWithID()
	return NodeStatus{
		ID: s.cfg.NodeID, Address: s.Addr(), Reachable: true,
		Leader:    string(leaderID) == s.cfg.NodeID && leaderAddr != "",
		State:     s.raft.State().String(),
		Term:      s.raft.CurrentTerm(),
		LastIndex: s.raft.LastIndex(), AppliedIndex: s.fsm.appliedIndex(),
	}
}

// handleStatus answers another node's status query.
func (s *Store) handleStatus() rpcResult {
	b, err := json.Marshal(s.local())
	if err != nil {
		return rpcResult{code: codeFailed, payload: []byte(err.Error())}
	}
	return rpcResult{payload: b}
}

// Status reports this node's view of the cluster and asks every other
// member for its health (each within a second). It answers without a
// quorum.
func (s *Store) Status(ctx context.Context) (Status, error) {
	if s.closed.Load() {
		return Status{}, errors.New("cluster: node closed")
	}
	self := s.local()
	leaderID, leaderAddr := s.Leader()
	st := Status{
		NodeID: self.ID, Address: self.Address, State: self.State,
		LeaderID: leaderID, LeaderAddress: leaderAddr,
		Term: self.Term, LastIndex: self.LastIndex, CommitIndex: s.raft.CommitIndex(), AppliedIndex: self.AppliedIndex,
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); errors.Is(err, raft.ErrRaftShutdown) {
		// Raft stops on a node removed from the cluster: State says so.
		return st, nil
	} else if err != nil {
		return st, fmt.Errorf("cluster: status: %w", err)
	}
	servers := f.Configuration().Servers
	st.Nodes = make([]NodeStatus, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		base := NodeStatus{ID: string(srv.ID), Address: string(srv.Address), Suffrage: srv.Suffrage.String(), Leader: string(srv.ID) == leaderID}
		if string(srv.ID) == s.cfg.NodeID {
			self.Address, self.Suffrage, self.Leader = base.Address, base.Suffrage, base.Leader
			st.Nodes[i] = self
			continue
		}
		wg.Go(func() {
			st.Nodes[i] = s.queryStatus(ctx, base)
		})
	}
	wg.Wait()
	return st, nil
}

// queryStatus asks one member for its health.
func (s *Store) queryStatus(ctx context.Context, base NodeStatus) NodeStatus {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	res, err := s.fwd.call(ctx, base.Address, reqStatus, nil)
	if err == nil && res.code != codeOK {
		err = errors.New(string(res.payload))
	}
	var got NodeStatus
	if err == nil {
		err = json.Unmarshal(res.payload, &got)
	}
	if err != nil {
		base.Error = err.Error()
		return base
	}
	base.Reachable = true
	base.State, base.Term, base.LastIndex, base.AppliedIndex = got.State, got.Term, got.LastIndex, got.AppliedIndex
	return base
}
