package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/cluster"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/store"
)

// ClusterConfig makes the server a node of a replicated cluster (see
// docs/cluster.md). The zero value is a single server.
type ClusterConfig struct {
	// Addr is the cluster listener (HOST:PORT) for Raft and forwarded
	// writes between nodes; empty means a single server.
	Addr string
	// Advertise is the address other nodes reach this one at; empty means
	// the bound address.
	Advertise string
	// SourceAddr is the local IP outbound connections to other nodes are
	// made from (see cluster.Config.SourceAddr); empty: the system's choice.
	SourceAddr string
	// NodeID names this node; required with Addr.
	NodeID string
	// Bootstrap starts a new cluster with this node as its only voter (once:
	// ignored when the node has Raft state).
	Bootstrap bool
	// Join is the cluster address of a member to ask, at start, to add this
	// node as a voter.
	Join string
	// ApplyTimeout bounds a write (cluster.DefaultApplyTimeout when zero).
	ApplyTimeout time.Duration
	// SnapshotThreshold, SnapshotInterval and TrailingLogs tune the Raft
	// log's compaction (see cluster.Config; zero: cluster defaults).
	SnapshotThreshold uint64
	// SnapshotInterval: see SnapshotThreshold.
	SnapshotInterval time.Duration
	// TrailingLogs: see SnapshotThreshold.
	TrailingLogs uint64
	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout tune failure
	// detection (see cluster.Config; zero: cluster defaults).
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
}

// enabled reports whether the server runs as a cluster node.
func (c ClusterConfig) enabled() bool { return c.Addr != "" }

// serverStore is what the server needs of its store: store.Bolt on a single
// server, cluster.Store on a cluster node (the same bbolt file, written
// through Raft).
type serverStore interface {
	store.Store
	Path() string
	Snapshot(fn func(store.Snapshot) error) error
	Buckets() ([]string, error)
}

var (
	_ serverStore = (*store.Bolt)(nil)
	_ serverStore = (*cluster.Store)(nil)
)

// startupLeaderWait bounds how long a cluster node waits at start for a
// leader, so that the start's own writes (a keyring, the default group)
// can commit; the node starts anyway, refusing writes until a quorum forms.
const startupLeaderWait = 15 * time.Second

// openStore opens the single server's bbolt store or, with cfg.Cluster, the
// cluster node over the same file; the node authenticates its peers with
// the server certificate and CA of tlsConf.
func openStore(cfg Config, tlsConf *tls.Config, logger *slog.Logger) (serverStore, *cluster.Store, error) {
	path := filepath.Join(cfg.DataDir, StoreFile)
	cc := cfg.Cluster
	if !cc.enabled() {
		if cc.NodeID != "" || cc.Bootstrap || cc.Join != "" {
			return nil, nil, errors.New("server: --node-id, --bootstrap and --join need --cluster-addr")
		}
		st, err := store.OpenBolt(path, store.BoltOptions{Logger: logger})
		return st, nil, err
	}
	if cc.Bootstrap && cc.Join != "" {
		return nil, nil, errors.New("server: --bootstrap starts a new cluster, --join enters an existing one: give one of them")
	}
	if len(tlsConf.Certificates) == 0 {
		return nil, nil, errors.New("server: no server certificate for the cluster listener")
	}
	node, err := cluster.Open(cluster.Config{
		NodeID: cc.NodeID, BindAddr: cc.Addr, AdvertiseAddr: cc.Advertise, SourceAddr: cc.SourceAddr,
		DataDir: cfg.DataDir, StorePath: path,
		Certificate: tlsConf.Certificates[0], CA: tlsConf.ClientCAs,
		Bootstrap: cc.Bootstrap, Logger: logger, ApplyTimeout: cc.ApplyTimeout,
		SnapshotThreshold: cc.SnapshotThreshold, SnapshotInterval: cc.SnapshotInterval, TrailingLogs: cc.TrailingLogs,
		HeartbeatTimeout: cc.HeartbeatTimeout, ElectionTimeout: cc.ElectionTimeout, LeaderLeaseTimeout: cc.LeaderLeaseTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupLeaderWait)
	defer cancel()
	if cc.Join != "" {
		if err := node.RequestJoin(ctx, cc.Join); err != nil {
			return nil, nil, errors.Join(fmt.Errorf("server: %w", err), node.Close())
		}
	}
	// Catch up before the start's own reads decide what to write.
	if err := node.WaitLeader(ctx); err != nil {
		logger.Warn("cluster: starting without a leader: writes are refused until a quorum of nodes is up", "err", err)
	} else if err := node.Sync(ctx); err != nil {
		logger.Warn("cluster: could not catch up with the leader at start", "err", err)
	}
	logger.Info("cluster node", "id", cc.NodeID, "cluster_addr", node.Addr())
	return node, node, nil
}

// checkClusterInit refuses to initialise a new installation for a node
// that is to join an existing cluster: it needs that cluster's master key,
// CA and keyring, from a copy of a member's data directory or a restored
// backup.
func checkClusterInit(cc ClusterConfig, initialised bool) error {
	if initialised || !cc.enabled() || cc.Bootstrap {
		return nil
	}
	return errors.New("server: this cluster node's data directory is not initialised: a node that joins a cluster needs the cluster's master key, CA and keyring; start it from a copy of a member's data directory or from a restored backup (docs/cluster.md), or give --bootstrap to start a new cluster")
}

// Cluster returns the cluster node, nil on a single server.
func (s *Server) Cluster() *cluster.Store { return s.cluster }

// ClusterAddr returns the bound cluster address, empty on a single server.
func (s *Server) ClusterAddr() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.Addr()
}

// clusterAnchor gives each node of a cluster its own audit anchor: every
// node keeps its own trail in DIR/audit, so one shared head would be
// overwritten by the others.
func (s *Server) clusterAnchor(b *barrier.Barrier) {
	if s.cluster == nil || s.cfg.AuditTrail.Anchor != nil {
		return
	}
	s.cfg.AuditTrail.Anchor = &nodeAnchor{st: s.store, seal: b, key: []byte("head/" + s.cluster.NodeID())}
}

// nodeAnchorBucket is the bucket of the audit anchors (audit.StoreAnchor's).
const nodeAnchorBucket = "audit"

// nodeAnchor is an audit.Anchor at bucket "audit", key "head/NODE",
// sealed by the barrier, replicated like any other write.
type nodeAnchor struct {
	st   store.Store
	seal audit.Sealer
	key  []byte
}

// Load implements audit.Anchor.
func (a *nodeAnchor) Load(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := ctx.Err(); err != nil {
		return h, fmt.Errorf("server: load audit anchor: %w", err)
	}
	var sealed []byte
	err := a.st.View(func(r store.Reader) error {
		v, err := r.Get(nodeAnchorBucket, a.key)
		sealed = append([]byte(nil), v...)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("server: load audit anchor: %w", err)
	}
	plain, err := a.seal.Open(nodeAnchorBucket, a.key, sealed)
	if err != nil {
		return h, fmt.Errorf("server: open audit anchor: %w", err)
	}
	if err := json.Unmarshal(plain, &h); err != nil {
		return h, fmt.Errorf("server: decode audit anchor: %w", err)
	}
	return h, nil
}

// Store implements audit.Anchor.
func (a *nodeAnchor) Store(ctx context.Context, h audit.Head) error {
	plain, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("server: encode audit anchor: %w", err)
	}
	sealed, err := a.seal.Seal(nodeAnchorBucket, a.key, plain)
	if err != nil {
		return fmt.Errorf("server: seal audit anchor: %w", err)
	}
	var cmd store.Command
	cmd.Put(nodeAnchorBucket, a.key, sealed)
	if err := a.st.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("server: store audit anchor: %w", err)
	}
	return nil
}

// watchRevocations makes a cluster node reload the revoked certificates
// whenever an applied batch wrote them, whichever node proposed it, so that
// a certificate revoked through another node is refused by this node's
// handshakes too (the set they check lives in memory).
func (s *Server) watchRevocations(reg *devices.Registry) {
	if s.cluster == nil {
		return
	}
	reload := func() {
		if err := reg.ReloadRevoked(context.Background()); err != nil {
			s.log.Error("cluster: reload the revoked certificates", "err", err)
		}
	}
	s.cluster.SetOnApplied(func(buckets []string) {
		if devices.RevocationsChanged(buckets) {
			reload()
		}
	})
	// What was applied between the registry's first load and the hook.
	reload()
}

// clusterOrNil is the admin API's view of the node: nil on a single server.
func (s *Server) clusterOrNil() admin.Cluster {
	if s.cluster == nil {
		return nil
	}
	return s.cluster
}
