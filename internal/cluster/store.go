// Package cluster is keywarden's replicated store: a store.Store whose
// writes go through a Raft log (hashicorp/raft) replicated between nodes
// over mutually authenticated TLS.
//
// Every node keeps the same bbolt file as a single server (DIR/keywarden.db)
// and serves reads from it. The Raft state machine applies each committed
// command with store.ApplyTx, the function a single server's store uses, so
// single node and cluster share one storage path. Apply on any node
// proposes the command to the leader (forwarded when this node is a
// follower) and returns only once the entry is committed on a quorum and
// applied on this node. Commands carry values the barrier sealed before
// they were built, so the Raft log and snapshots hold nothing in the clear.
//
// A node that cannot reach a quorum refuses writes within Config.ApplyTimeout
// with an error wrapping ErrUnavailable; reads go on from its local file.
package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/keywarden/keywarden/internal/store"
)

// Defaults of Config.
const (
	// DefaultApplyTimeout bounds a write: a node that cannot get a command
	// committed within it refuses the write with ErrUnavailable.
	DefaultApplyTimeout = 2 * time.Second
	// DefaultSnapshotThreshold is how many log entries trigger a snapshot
	// (and the compaction of the log before it).
	DefaultSnapshotThreshold = 8192
	// DefaultTrailingLogs is how many entries a compaction keeps, so that a
	// node a little behind catches up from the log, not a snapshot.
	DefaultTrailingLogs = 10240
	// RaftDir is the directory, under the data directory, of the Raft log
	// and stable store (raft.db) and of the snapshots.
	RaftDir = "raft"
)

// Errors of the cluster store.
var (
	// ErrUnavailable is wrapped by Apply's error when the command could not
	// be committed on a quorum in time: no leader, the leader unreachable,
	// or this node in a minority. The write was not acknowledged (it may
	// still commit later); a client should retry, on another node.
	ErrUnavailable = errors.New("cluster: no quorum")
	// ErrNotLeader is wrapped by the errors of membership changes sent to
	// a node that is not (or no longer) the leader and could not forward.
	ErrNotLeader = errors.New("cluster: not the leader")
	// ErrUnknownNode is wrapped by Leave's error for a node that is not a
	// member.
	ErrUnknownNode = errors.New("cluster: no such node")
)

// Config configures Open.
type Config struct {
	// NodeID names this node in the cluster; it must be unique and stable.
	NodeID string
	// BindAddr is the HOST:PORT the cluster listener binds (port 0 picks
	// a free port).
	BindAddr string
	// AdvertiseAddr is the HOST:PORT other nodes reach this one at; empty
	// means the bound address, which must then name a host (not 0.0.0.0).
	AdvertiseAddr string
	// SourceAddr, when set, is the local IP address (no port) that
	// outbound connections to other nodes are made from: a multi-homed
	// host pins the interface, and firewall rules (or a test's proxy)
	// can tell the nodes apart by source address. Empty lets the system
	// choose.
	SourceAddr string
	// DataDir holds the Raft log, stable store and snapshots in
	// DataDir/raft.
	DataDir string
	// StorePath is the bbolt file of the state machine (the same file a
	// single server uses).
	StorePath string
	// Certificate is this node's certificate and key (the server
	// certificate), presented to the other nodes.
	Certificate tls.Certificate
	// CA is the pool of the installation's CA: a peer must present a
	// certificate from it with the serverAuth extended key usage.
	CA *x509.CertPool
	// Bootstrap makes this node the first voter of a new cluster when it
	// has no Raft state yet; ignored otherwise.
	Bootstrap bool
	// Logger receives the node's and Raft's logs; nil discards.
	Logger *slog.Logger
	// ApplyTimeout bounds Apply; DefaultApplyTimeout when zero.
	ApplyTimeout time.Duration
	// SnapshotThreshold is how many new log entries trigger a snapshot and
	// the compaction of the log; DefaultSnapshotThreshold when zero.
	SnapshotThreshold uint64
	// SnapshotInterval is how often the threshold is checked; Raft's
	// default (2 minutes) when zero.
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries a compaction keeps;
	// DefaultTrailingLogs when zero.
	TrailingLogs uint64
	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout tune failure
	// detection; zero means 1s, 1s and 500ms (a new leader within about
	// two seconds of a crash).
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
	// OnApplied, when set, is called after each batch of committed entries
	// is applied on this node, with the buckets it wrote (on every node,
	// whichever node proposed the writes), so that in-memory state derived
	// from the store can be reloaded. It runs on the state machine's
	// goroutine: it must return quickly and must not call Apply.
	OnApplied func(buckets []string)
}

// Store is a node of a keywarden cluster and the store.Store over it. It is
// safe for concurrent use.
type Store struct {
	cfg    Config
	log    *slog.Logger
	fsm    *fsm
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	layer  *streamLayer
	logs   *raftboltdb.BoltStore
	fwd    *forwarder
	closed atomic.Bool

	inMu    sync.Mutex
	inbound map[net.Conn]struct{} // forwarding connections being served

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open starts a cluster node: it opens the bbolt file and the Raft state in
// cfg.DataDir, binds the cluster listener and joins the Raft protocol. A
// node with Bootstrap and no Raft state starts a one-node cluster; a new
// node without it waits to be added (see Join).
func Open(cfg Config) (*Store, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	logger := cfg.Logger.With("component", "cluster", "node", cfg.NodeID)
	serverTLS, clientTLS, err := nodeTLS(cfg.Certificate, cfg.CA)
	if err != nil {
		return nil, err
	}
	raftDir := filepath.Join(cfg.DataDir, RaftDir)
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: create %s: %w", raftDir, err)
	}
	f, err := openFSM(cfg.StorePath, logger)
	if err != nil {
		return nil, err
	}
	if cfg.OnApplied != nil {
		f.onApplied.Store(&cfg.OnApplied)
	}
	s := &Store{cfg: cfg, log: logger, fsm: f, inbound: map[net.Conn]struct{}{}}
	fail := func(err error) (*Store, error) {
		return nil, errors.Join(err, s.shutdown())
	}
	s.logs, err = raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(raftDir, "raft.db"), BoltOptions: &bbolt.Options{Timeout: store.DefaultLockTimeout},
	})
	if err != nil {
		return fail(fmt.Errorf("cluster: open raft log in %s: %w", raftDir, err))
	}
	hlog := raftLogger(logger)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hlog)
	if err != nil {
		return fail(fmt.Errorf("cluster: open snapshots in %s: %w", raftDir, err))
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return fail(fmt.Errorf("cluster: listen on %s: %w", cfg.BindAddr, err))
	}
	advertise, err := advertised(cfg.AdvertiseAddr, ln.Addr())
	if err != nil {
		_ = ln.Close()
		return fail(err)
	}
	s.layer = newStreamLayer(ln, advertise, serverTLS, clientTLS, logger, s.serveInbound)
	if cfg.SourceAddr != "" {
		ip := net.ParseIP(cfg.SourceAddr)
		if ip == nil {
			return fail(fmt.Errorf("cluster: source address %q: not an IP address", cfg.SourceAddr))
		}
		s.layer.source = &net.TCPAddr{IP: ip}
	}
	s.fwd = newForwarder(func(addr string, timeout time.Duration) (net.Conn, error) {
		return s.layer.dial(addr, connForward, timeout)
	})
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: s.layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})
	rc := cfg.raftConfig(hlog)
	hasState, err := raft.HasExistingState(s.logs, s.logs, snaps)
	if err != nil {
		return fail(fmt.Errorf("cluster: read raft state: %w", err))
	}
	s.raft, err = raft.NewRaft(rc, s.fsm, s.logs, s.logs, snaps, s.trans)
	if err != nil {
		return fail(fmt.Errorf("cluster: start raft: %w", err))
	}
	switch {
	case !hasState && cfg.Bootstrap:
		// A new log starts at index 1: an applied index in the file (it
		// was copied from, or restored from a backup of, another
		// cluster's node) belongs to another log.
		if err := s.fsm.resetApplied(); err != nil {
			return fail(err)
		}
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(cfg.NodeID), Address: raft.ServerAddress(advertise.String()),
		}}}
		if err := s.raft.BootstrapCluster(boot).Error(); err != nil {
			return fail(fmt.Errorf("cluster: bootstrap: %w", err))
		}
		logger.Info("cluster: bootstrapped a new cluster", "addr", advertise.String())
	case !hasState:
		logger.Info("cluster: no raft state yet: waiting to be added to a cluster", "addr", advertise.String())
	default:
		logger.Info("cluster: rejoining with existing raft state", "addr", advertise.String(),
			"applied_index", s.fsm.appliedIndex())
	}
	return s, nil
}

// check validates cfg and fills in its defaults.
func (cfg *Config) check() error {
	switch {
	case cfg.NodeID == "":
		return errors.New("cluster: no node id given")
	case len(cfg.NodeID) > 128:
		return errors.New("cluster: node id longer than 128 bytes")
	case cfg.BindAddr == "":
		return errors.New("cluster: no cluster address given (HOST:PORT)")
	case cfg.DataDir == "" || cfg.StorePath == "":
		return errors.New("cluster: no data directory or store file given")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = DefaultApplyTimeout
	}
	return nil
}

// raftConfig returns the Raft configuration of cfg.
func (cfg *Config) raftConfig(hlog hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = orDuration(cfg.HeartbeatTimeout, time.Second)
	rc.ElectionTimeout = orDuration(cfg.ElectionTimeout, time.Second)
	rc.LeaderLeaseTimeout = orDuration(cfg.LeaderLeaseTimeout, 500*time.Millisecond)
	rc.SnapshotThreshold = orUint(cfg.SnapshotThreshold, DefaultSnapshotThreshold)
	rc.TrailingLogs = orUint(cfg.TrailingLogs, DefaultTrailingLogs)
	rc.SnapshotInterval = orDuration(cfg.SnapshotInterval, rc.SnapshotInterval)
	// The bbolt file is the state machine's durable state (it records the
	// applied index): a restart replays only the entries it lacks.
	// A follower learns that an entry is committed from the leader's next
	// append; a write acknowledged by a follower waits for it, so the
	// leader sends one soon after the last write rather than Raft's 50ms.
	rc.CommitTimeout = 5 * time.Millisecond
	rc.NoSnapshotRestoreOnStart = true
	rc.BatchApplyCh = true
	rc.NoLegacyTelemetry = true
	return rc
}

func orDuration(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func orUint(v, def uint64) uint64 {
	if v > 0 {
		return v
	}
	return def
}

// advertised returns the address other nodes use for this one.
func advertised(configured string, bound net.Addr) (net.Addr, error) {
	addr := configured
	if addr == "" {
		addr = bound.String()
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: advertised address %q: %w", addr, err)
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() || tcp.Port == 0 {
		return nil, fmt.Errorf("cluster: advertised address %q must name a host and a port other nodes can reach: bind a specific address or give an advertised address", addr)
	}
	return tcp, nil
}

// Addr returns the address other nodes reach this one at.
func (s *Store) Addr() string { return s.layer.Addr().String() }

// NodeID returns this node's id.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// SetOnApplied replaces Config.OnApplied while the node runs (nil removes
// it): in-memory state built after Open (a registry over this store)
// registers its reload here. Batches applied before the call are not
// reported: a caller reloads once after registering.
func (s *Store) SetOnApplied(fn func(buckets []string)) {
	if fn == nil {
		s.fsm.onApplied.Store(nil)
		return
	}
	s.fsm.onApplied.Store(&fn)
}

// View runs fn against a consistent snapshot of this node's local file. A
// follower may lag the leader by the entries not yet applied here; every
// write this node acknowledged is visible.
func (s *Store) View(fn func(store.Reader) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	err := s.fsm.view(func(tx *bbolt.Tx) error { return fn(store.TxReader(tx)) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// Close leaves the Raft protocol (the node stays a member: it catches up
// when it starts again), stops the listener and closes the files.
// Later calls to any method, Close excepted, return store.ErrClosed.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(func() { s.closeErr = s.shutdown() })
	return s.closeErr
}

// shutdown releases what Open acquired, in reverse order.
func (s *Store) shutdown() error {
	var errs []error
	if s.raft != nil {
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: stop raft: %w", err))
		}
	}
	if s.fwd != nil {
		s.fwd.close()
	}
	if s.trans != nil {
		_ = s.trans.Close()
	}
	if s.layer != nil {
		_ = s.layer.Close()
		s.inMu.Lock()
		for c := range s.inbound {
			_ = c.Close()
		}
		s.inMu.Unlock()
		s.layer.wait()
	}
	if s.logs != nil {
		if err := s.logs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: close raft log: %w", err))
		}
	}
	if err := s.fsm.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// serveInbound serves a forwarding connection from another node, tracked
// so that Close can end it.
func (s *Store) serveInbound(c net.Conn) {
	s.inMu.Lock()
	if s.closed.Load() {
		s.inMu.Unlock()
		_ = c.Close()
		return
	}
	s.inbound[c] = struct{}{}
	s.inMu.Unlock()
	defer func() {
		s.inMu.Lock()
		delete(s.inbound, c)
		s.inMu.Unlock()
	}()
	serveForward(c, s.handle)
}
