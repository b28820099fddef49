package device

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/store"
)

// Replay entries: the response a device got for a request id, so that a
// retry (on this server or, after failover, on the next) gets it again.
const (
	// ReplayBucket holds the sealed entries, keyed by device id and
	// request id.
	ReplayBucket = "devreplay"
	// ReplayTTL is how long an entry answers retries.
	ReplayTTL = 24 * time.Hour
	// replayPruneEvery is the period of the sweep of expired entries.
	replayPruneEvery = time.Hour
)

// replayEntry is one stored response. The response frame carries only
// wrapped keys, and the entry is sealed by the barrier besides.
type replayEntry struct {
	Time     time.Time `json:"time"`
	Digest   []byte    `json:"digest"`
	Response []byte    `json:"response"`
}

func replayKey(deviceID string, id codec.RequestID) []byte {
	k := make([]byte, 0, len(deviceID)+1+len(id))
	k = append(k, deviceID...)
	k = append(k, 0)
	return append(k, id[:]...)
}

// replayLookup returns the stored response to request id of the device,
// if one younger than ReplayTTL exists. A stored entry for another request
// body is ErrReplayMismatch.
func (s *Server) replayLookup(deviceID string, id codec.RequestID, digest [32]byte) ([]byte, bool, error) {
	key := replayKey(deviceID, id)
	var sealed []byte
	err := s.opts.Store.View(func(r store.Reader) error {
		v, err := r.Get(ReplayBucket, key)
		if err != nil {
			return err
		}
		sealed = append([]byte(nil), v...)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("device: replay lookup: %w", err)
	}
	e, err := s.openEntry(key, sealed)
	if err != nil {
		return nil, false, err
	}
	if s.opts.Now().Sub(e.Time) > ReplayTTL {
		return nil, false, nil
	}
	if string(e.Digest) != string(digest[:]) {
		return nil, false, ErrReplayMismatch
	}
	return e.Response, true, nil
}

func (s *Server) openEntry(key, sealed []byte) (replayEntry, error) {
	var e replayEntry
	plain, err := s.opts.Sealer.Open(ReplayBucket, key, sealed)
	if err != nil {
		return e, fmt.Errorf("device: open replay entry: %w", err)
	}
	if err := json.Unmarshal(plain, &e); err != nil {
		return e, fmt.Errorf("device: decode replay entry: %w", err)
	}
	return e, nil
}

// replayPut adds the entry for a response to cmd. An entry already there
// (an expired one) is replaced; a concurrent retry that committed first
// makes the command fail with store.ErrConflict, unless expired is set.
func (s *Server) replayPut(cmd *store.Command, deviceID string, id codec.RequestID, digest [32]byte, response []byte, replace bool) error {
	key := replayKey(deviceID, id)
	plain, err := json.Marshal(replayEntry{Time: s.opts.Now().UTC(), Digest: digest[:], Response: response})
	if err != nil {
		return fmt.Errorf("device: encode replay entry: %w", err)
	}
	sealed, err := s.opts.Sealer.Seal(ReplayBucket, key, plain)
	if err != nil {
		return fmt.Errorf("device: seal replay entry: %w", err)
	}
	if !replace {
		cmd.RequireAbsent(ReplayBucket, key)
	}
	cmd.Put(ReplayBucket, key, sealed)
	return nil
}

// replayExists reports whether any entry (expired or not) is stored under
// the key, so that replayPut knows whether to replace it.
func (s *Server) replayExists(deviceID string, id codec.RequestID) bool {
	found := false
	_ = s.opts.Store.View(func(r store.Reader) error {
		_, err := r.Get(ReplayBucket, replayKey(deviceID, id))
		found = err == nil
		return nil
	})
	return found
}

// pruneLoop deletes expired replay entries periodically until ctx ends.
func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(replayPruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.PruneReplay(ctx); err != nil {
				s.log.Warn("device: prune replay entries", "err", err)
			} else if n > 0 {
				s.log.Debug("device: pruned replay entries", "count", n)
			}
		}
	}
}

// PruneReplay deletes the replay entries older than ReplayTTL and returns
// how many it deleted.
func (s *Server) PruneReplay(ctx context.Context) (int, error) {
	now := s.opts.Now()
	var cmd store.Command
	err := s.opts.Store.View(func(r store.Reader) error {
		return r.Scan(ReplayBucket, nil, nil, func(k, v []byte) (bool, error) {
			key := append([]byte(nil), k...)
			e, err := s.openEntry(key, v)
			if err != nil || now.Sub(e.Time) > ReplayTTL {
				cmd.RequireEqual(ReplayBucket, key, append([]byte(nil), v...))
				cmd.Delete(ReplayBucket, key)
			}
			return len(cmd.Ops) < 2000, nil
		})
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("device: scan replay entries: %w", err)
	}
	if len(cmd.Ops) == 0 {
		return 0, nil
	}
	if err := s.opts.Store.Apply(ctx, cmd); err != nil {
		return 0, fmt.Errorf("device: prune replay entries: %w", err)
	}
	return len(cmd.Ops) / 2, nil
}
