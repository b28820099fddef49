package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keywarden/keywarden/internal/store"
)

// retryPause is how long a proposal waits before trying again while the
// cluster has no leader or the leader changes.
const retryPause = 25 * time.Millisecond

// Apply proposes cmd to the cluster and returns once it is committed on a
// quorum and applied on this node, so that a View that follows sees it. On
// a follower the command is forwarded to the leader. A command whose
// precondition fails on the leader's state returns an error wrapping
// store.ErrConflict; one that cannot be committed within
// Config.ApplyTimeout returns an error wrapping ErrUnavailable.
func (s *Store) Apply(ctx context.Context, cmd store.Command) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: apply: %w", err)
	}
	if err := validate(cmd); err != nil {
		return err
	}
	if len(cmd.Ops) == 0 {
		return nil
	}
	data := store.Encode(cmd)
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	idx, result, err := s.propose(actx, data)
	if err == nil && idx > 0 {
		if werr := s.fsm.waitApplied(actx, idx); werr != nil {
			err = s.unavailable(fmt.Sprintf("entry %d is committed, but this node has not applied it yet", idx))
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("cluster: apply: %w", cerr)
		}
		return err
	}
	return result
}

// validate refuses what no store accepts, and writes to the applied index.
func validate(cmd store.Command) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	for i, op := range cmd.Ops {
		if op.Bucket == store.SysBucket && bytes.Equal(op.Key, []byte(appliedKey)) {
			return fmt.Errorf("%w: op %d (%s): %s/%s is reserved for the cluster", store.ErrInvalidCommand, i, op.Kind, store.SysBucket, appliedKey)
		}
	}
	return nil
}

// unavailable builds the refusal of a write that cannot reach a quorum.
func (s *Store) unavailable(why string) error {
	return fmt.Errorf("%w: node %s refuses the write: %s (the write was not acknowledged; retry on another node)", ErrUnavailable, s.cfg.NodeID, why)
}

// propose gets data committed: applied directly when this node leads,
// forwarded to the leader otherwise, retried while there is no leader or it
// changes, until ctx ends. It returns the entry's index and the command's
// own outcome (nil, or a conflict or invalid command), or err when the
// entry was not committed.
func (s *Store) propose(ctx context.Context, data []byte) (idx uint64, result, err error) {
	why := "no leader elected: this node cannot reach a quorum of the cluster"
	for {
		if s.closed.Load() {
			return 0, nil, store.ErrClosed
		}
		switch s.raft.State() {
		case raft.Shutdown:
			// Raft stops on a node removed from the cluster.
			return 0, nil, s.unavailable("this node is no longer a member of the cluster (removed), or is stopping")
		case raft.Leader:
			idx, result, err := s.applyLeader(ctx, data)
			if !errors.Is(err, raft.ErrNotLeader) {
				return idx, result, err
			}
			why = "leadership changed"
		default:
			idx, result, retry, err := s.forward(ctx, data, &why)
			if !retry {
				return idx, result, err
			}
		}
		select {
		case <-ctx.Done():
			return 0, nil, s.unavailable(why)
		case <-time.After(retryPause):
		}
	}
}

// forward sends data to the leader. retry is true, with why set, when
// the caller should try again (no leader known, the leader unreachable or
// no longer leading); otherwise idx, result and err are propose's answer.
func (s *Store) forward(ctx context.Context, data []byte, why *string) (idx uint64, result error, retry bool, err error) {
	addr, id := s.raft.LeaderWithID()
	if addr == "" {
		return 0, nil, true, nil
	}
	res, err := s.fwd.call(ctx, string(addr), reqApply, applyPayload(s.cfg.NodeID, data))
	if sent := (*sentError)(nil); errors.As(err, &sent) {
		// Retrying could apply the command twice.
		return 0, nil, false, s.unavailable(fmt.Sprintf("leader %s did not answer (the outcome is unknown): %v", id, err))
	}
	if err != nil {
		*why = fmt.Sprintf("leader %s (%s) unreachable: %v", id, addr, err)
		return 0, nil, true, nil
	}
	switch res.code {
	case codeOK:
		return res.index, nil, false, nil
	case codeConflict:
		return res.index, fmt.Errorf("%w (on leader %s: %s)", store.ErrConflict, id, res.payload), false, nil
	case codeInvalid:
		return 0, nil, false, fmt.Errorf("%w (on leader %s: %s)", store.ErrInvalidCommand, id, res.payload)
	case codeUnavailable:
		return 0, nil, false, s.unavailable(fmt.Sprintf("leader %s could not commit it: %s", id, res.payload))
	case codeNotLeader:
		*why = fmt.Sprintf("node %s is no longer the leader", id)
		return 0, nil, true, nil
	default:
		return 0, nil, false, fmt.Errorf("cluster: apply on leader %s: %s", id, res.payload)
	}
}

// applyLeader appends data to the log of this node, the leader, and waits
// until it is committed and applied or ctx ends.
func (s *Store) applyLeader(ctx context.Context, data []byte) (idx uint64, result, err error) {
	timeout := s.cfg.ApplyTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return 0, nil, s.unavailable("no time left to commit")
	}
	f := s.raft.Apply(data, timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		return 0, nil, s.unavailable("not committed on a quorum in time: this node may be in a minority")
	}
	switch {
	case err == nil:
	case errors.Is(err, raft.ErrNotLeader):
		return 0, nil, err
	case errors.Is(err, raft.ErrRaftShutdown):
		return 0, nil, store.ErrClosed
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrAbortedByRestore):
		return 0, nil, s.unavailable(err.Error())
	default:
		return 0, nil, fmt.Errorf("cluster: apply: %w", err)
	}
	if e, ok := f.Response().(error); ok && e != nil {
		if errors.Is(e, store.ErrConflict) || errors.Is(e, store.ErrInvalidCommand) {
			return f.Index(), e, nil
		}
		return 0, nil, e
	}
	return f.Index(), nil, nil
}

// handle answers one request forwarded by another node.
func (s *Store) handle(kind byte, payload []byte) rpcResult {
	switch kind {
	case reqApply:
		return s.handleApply(payload)
	case reqJoin:
		return s.handleJoin(payload)
	case reqLeave:
		return resultOf(0, s.removeLocal(string(payload)))
	case reqStatus:
		return s.handleStatus()
	default:
		return rpcResult{code: codeFailed, payload: fmt.Appendf(nil, "unknown request kind %d", kind)}
	}
}

// applyPayload is a forwarded command: the sender's node id
// (uvarint-length-prefixed), then the encoded command.
func applyPayload(nodeID string, data []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, len(nodeID)+len(data)+2), uint64(len(nodeID)))
	out = append(out, nodeID...)
	return append(out, data...)
}

// isMember reports whether id is in the latest cluster configuration.
func (s *Store) isMember(id string) bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == id {
			return true
		}
	}
	return false
}

// handleApply commits a command forwarded by a follower; a node that is
// not (or no longer) a member may not write.
func (s *Store) handleApply(payload []byte) rpcResult {
	n, k := binary.Uvarint(payload)
	if k <= 0 || n > uint64(len(payload)-k) {
		return rpcResult{code: codeInvalid, payload: []byte("malformed forwarded command")}
	}
	sender := string(payload[k : k+int(n)])
	payload = payload[k+int(n):]
	if s.raft.State() == raft.Leader && !s.isMember(sender) {
		return rpcResult{code: codeUnavailable, payload: fmt.Appendf(nil, "node %s is not a member of the cluster", sender)}
	}
	cmd, err := store.DecodeCommand(payload)
	if err == nil {
		err = validate(cmd)
	}
	if err != nil {
		return rpcResult{code: codeInvalid, payload: []byte(err.Error())}
	}
	if s.raft.State() != raft.Leader {
		return rpcResult{code: codeNotLeader, payload: []byte("not the leader")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
	defer cancel()
	idx, result, err := s.applyLeader(ctx, payload)
	if err != nil {
		return resultOf(0, err)
	}
	return resultOf(idx, result)
}

// resultOf encodes an outcome as a response.
func resultOf(idx uint64, err error) rpcResult {
	res := rpcResult{index: idx}
	switch {
	case err == nil:
		return res
	case errors.Is(err, store.ErrConflict):
		res.code = codeConflict
	case errors.Is(err, store.ErrInvalidCommand):
		res.code = codeInvalid
	case errors.Is(err, ErrUnavailable):
		res.code = codeUnavailable
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, ErrNotLeader):
		res.code = codeNotLeader
	case errors.Is(err, ErrUnknownNode):
		res.code = codeUnknownNode
	default:
		res.code = codeFailed
	}
	res.payload = []byte(err.Error())
	return res
}
