// Package server wires a keywarden server together: it opens the master
// key, the store, the barrier and the lifecycle core, and runs the KMIP,
// device and admin listeners — all TLS with client certificates — under one
// errgroup tied to a context. Cancelling the context or calling Shutdown
// drains: listeners stop accepting, in-flight requests get a grace period,
// then the store is closed.
package server

import (
	"context"
	"crypto/fips140"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/cluster"
	"github.com/keywarden/keywarden/internal/device"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/kmiphttp"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/netprobe"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/usage"
)

// Default listener addresses and shutdown grace period.
const (
	DefaultKMIPAddr      = ":5696"
	DefaultDeviceAddr    = ":1443"
	DefaultAdminAddr     = ":9443"
	DefaultShutdownGrace = 10 * time.Second
)

// Config configures a Server.
type Config struct {
	// DataDir holds the master key, the store and the PKI. New initialises
	// it (see Init) when it is missing or empty.
	DataDir string
	// PassphraseFile names the file holding the master key passphrase, for
	// a passphrase-sealed master key.
	PassphraseFile string
	// PINFile names the file holding the PKCS#11 user PIN, for a master
	// key in an HSM; empty means the environment variable
	// KEYWARDEN_PKCS11_PIN (barrier.PINEnv).
	PINFile string
	// FIPS requires the process to run Go's FIPS 140-3 module (started
	// with GODEBUG=fips140=on): New refuses to start otherwise. The mode is
	// fixed when a process starts; keywarden serve --fips re-executes
	// itself to enter it.
	FIPS bool
	// RequireHardwareProtection (the seed's
	// requireHardwareProtectionForSymmetricKeys) needs a master key in a
	// PKCS#11 token: key labels are then generated in the token only and
	// 3592 data keys come from its random generator. New refuses to start
	// without such a master key.
	RequireHardwareProtection bool
	// KMIPAddr, DeviceAddr and AdminAddr are the listener addresses
	// (host:port; port 0 picks a free port). Empty means the defaults.
	KMIPAddr, DeviceAddr, AdminAddr string
	// KMIPHTTPAddr, when not empty, is the address of the KMIP over HTTPS
	// listener (binary TTLV, KMIP XML and KMIP JSON message encodings, see
	// internal/kmiphttp); empty means it is not served.
	KMIPHTTPAddr string
	// SANs are extra server certificate names, used only when New
	// initialises DataDir.
	SANs []string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// ShutdownGrace bounds how long in-flight requests may run once
	// shutdown begins; zero means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Version is the version the admin API reports; empty means the
	// module version of the binary.
	Version string
	// Audit receives the audit events of every front end and of the
	// server itself (start, stop); nil means audit.Discard. Front ends
	// fail closed on it: see kmip.WithAudit, device.Options.Audit and
	// admin.Config.Audit.
	Audit audit.Recorder
	// AuditTrail configures the audit file trail the server opens in
	// DIR/audit when Audit is nil (Dir, ChainKey, Anchor, OnFailure and
	// Logger are filled in by the server when empty).
	AuditTrail audit.Config
	// NoAuditTrail, with Audit nil, keeps no audit trail at all.
	NoAuditTrail bool
	// Node names this server in audit events; empty means the host name.
	Node string
	// RequireBackup serves only keys that are in a backup (SKLM's
	// backup.keycert.before.serving): KMIP Get refuses an object created
	// after the last backup's snapshot, and the device protocol refuses a
	// 3592 write or disk key create under such a label and serves an LTO
	// write only a key group key in a backup. See docs/backup.md.
	RequireBackup bool
	// TLSMinVersion is the lowest TLS version of every listener
	// (tls.VersionTLS12 or tls.VersionTLS13); zero means TLS 1.2.
	TLSMinVersion uint16
	// TLSCipherSuites are the TLS 1.2 suites offered; nil means the
	// defaults of pki.LoadServerTLS.
	TLSCipherSuites []uint16
	// MaxConns and MaxMessageSize bound the KMIP listener (see
	// kmip.ConnConfig); zero means its defaults.
	MaxConns, MaxMessageSize int
	// HandshakeTimeout bounds the TLS handshake on the KMIP, device and
	// admin listeners; zero means their defaults (10 s).
	HandshakeTimeout time.Duration
	// Defaults, when not empty, are written to the device group "default"
	// at start (and on Reload): see GroupDefaults.
	Defaults GroupDefaults
	// RequireHSM logs a warning at start when the master key is not in an
	// HSM (the seed's requireHardwareProtectionForSymmetricKeys).
	RequireHSM bool
	// Cluster makes the server a node of a replicated cluster; the zero
	// value is a single server (see ClusterConfig).
	Cluster ClusterConfig
	// FreshGroups are the KMIP Object Groups whose fresh members the
	// server makes on demand for a Locate (kmip.WithFreshGroups).
	FreshGroups []string
}

// Server is a running (or ready to run) keywarden server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	tls     *tls.Config
	store   serverStore
	cluster *cluster.Store    // nil on a single server
	mk      barrier.MasterKey // closed with the store
	rotator *barrier.Rotator  // keyring rotations; stopped before the store closes
	trail   *audit.Trail      // the file trail, when the server opened one
	ledger  *backup.Ledger    // the last backup taken
	router  *kmip.Router
	devices *devices.Registry
	metrics *admin.Metrics
	admin   *admin.Handler
	usage   *usage.Log
	labels  *labels.Service
	kgroups *keygroups.Service
	keys    *keys.Manager
	device  *device.Server
	closeMu sync.Once
	closeEr error
	// storeClosed and draining feed the readiness probe.
	storeClosed atomic.Bool
	draining    atomic.Bool
	// cert is the server certificate every listener presents; Reload
	// replaces it (reload.go).
	cert atomic.Pointer[tls.Certificate]
	// reloadMu serialises Reload.
	reloadMu sync.Mutex

	mu       sync.Mutex
	started  bool
	cancel   context.CancelFunc
	kmipLn   net.Listener
	deviceLn net.Listener
	adminLn  net.Listener
	httpLn   net.Listener  // KMIP over HTTPS; nil unless Config.KMIPHTTPAddr
	done     chan struct{} // closed once stopped and the store is closed
	err      error         // why it stopped; read after done
}

// New opens the server in cfg.DataDir, initialising the directory first if
// it is missing or empty. It does not listen yet: see Start.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory given")
	}
	if cfg.FIPS && !fips140.Enabled() {
		return nil, errors.New("server: FIPS mode requested, but this process does not run Go's FIPS 140-3 module: start it with GODEBUG=fips140=on in its environment (keywarden serve --fips does so by re-executing itself)")
	}
	tuneGarbageCollector()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.KMIPAddr = orDefault(cfg.KMIPAddr, DefaultKMIPAddr)
	cfg.DeviceAddr = orDefault(cfg.DeviceAddr, DefaultDeviceAddr)
	cfg.AdminAddr = orDefault(cfg.AdminAddr, DefaultAdminAddr)
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	cfg.Node = nodeName(cfg.Node)
	logger := cfg.Logger

	initialised, err := Initialized(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := checkClusterInit(cfg.Cluster, initialised); err != nil {
		return nil, err
	}
	if !initialised {
		logger.Info("data directory not initialised; initialising", "dir", cfg.DataDir)
		err := Init(context.Background(), InitConfig{
			DataDir: cfg.DataDir, PassphraseFile: cfg.PassphraseFile, PINFile: cfg.PINFile, SANs: cfg.SANs, Logger: logger,
		})
		if err != nil {
			return nil, err
		}
	} else if len(cfg.SANs) > 0 {
		logger.Warn("data directory already initialised: the server certificate keeps its names, extra SANs are ignored",
			"dir", cfg.DataDir, "sans", cfg.SANs)
	}

	mk, err := barrier.OpenMasterKeyWith(cfg.DataDir, barrier.MasterKeyOptions{PassphraseFile: cfg.PassphraseFile, PINFile: cfg.PINFile})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// Every user of the master key shares one holder, so that an online
	// master-key rotation moves them all (see rotateMasterKey).
	mk = barrier.NewMasterKeyHolder(mk)
	tlsConf, err := pki.LoadServerTLS(cfg.DataDir, mk)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), closeMasterKey(mk))
	}
	if err := compactPending(filepath.Join(cfg.DataDir, StoreFile), logger); err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), closeMasterKey(mk))
	}
	st, node, err := openStore(cfg, tlsConf, logger)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), closeMasterKey(mk))
	}
	s := &Server{cfg: cfg, log: logger, tls: tlsConf, store: st, cluster: node, mk: mk, done: make(chan struct{})}
	if err := s.setupTLS(); err != nil {
		return nil, errors.Join(err, s.closeStore())
	}
	logger.Debug("master key opened", "kind", mk.Kind(), "fips", fips140.Enabled())
	b, err := barrier.New(context.Background(), st, mk, barrier.Options{Logger: logger})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.rotator = s.newRotator(b)
	km, err := keys.New(keys.Options{Store: st, Barrier: b, Logger: logger})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	if _, err := km.RepairIndex(context.Background()); err != nil {
		logger.Error("attribute index not repaired: Locate may miss objects written by an earlier keywarden; retried at the next start", "err", err)
	}
	reg, err := devices.New(context.Background(), devices.Options{Store: st, Barrier: b, Logger: logger, RoleRoots: tlsConf.ClientCAs})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.devices = reg
	s.watchRevocations(reg)
	tlsConf.VerifyConnection = refuseRevoked(reg)
	s.metrics, err = admin.NewMetrics(admin.MetricsOptions{
		StorePath: st.Path(), Certs: admin.ServerCertFiles(cfg.DataDir),
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.clusterAnchor(b)
	if err := s.openAudit(b); err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	if s.ledger, err = backup.OpenLedger(s.store, b); err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	// The store is open and locked: no backup of this data directory runs,
	// so a temporary copy left here was left by a crash.
	if removed, err := backup.RemoveStale(cfg.DataDir); err != nil {
		logger.Warn("stale backup copies not removed", "err", err)
	} else if len(removed) > 0 {
		logger.Warn("removed temporary store copies left by an interrupted backup", "files", removed)
	}
	cfg = s.cfg
	s.usage, err = usage.New(context.Background(), st, b, logger)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.labels = labels.New(km, pki.NewLabelSigner(cfg.DataDir, mk), logger.With("component", "labels"))
	if err := s.attachHSM(mk); err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.keys = km
	s.kgroups = keygroups.New(km, logger.With("component", "keygroups"))
	if _, err := s.applyGroupDefaults(context.Background(), cfg.Defaults); err != nil {
		return nil, errors.Join(err, s.closeStore())
	}
	s.device, err = device.New(device.Options{
		WriteGate: s.deviceWriteGate(), KeyGroupGate: s.keyGroupGate(),
		Registry: reg, Labels: s.labels, KeyGroups: s.kgroups, Usage: s.usage, Store: st, Sealer: b,
		Logger: logger.With("listener", "device"),
		Audit:  cfg.Audit, Node: cfg.Node,
		AuditFailed:      func() { s.metrics.AuditFailed(string(audit.ProtoDevice)) },
		HandshakeTimeout: cfg.HandshakeTimeout,
		Probed:           func() { s.metrics.ConnProbed("device") },
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.admin, err = admin.New(admin.Config{
		Devices: reg, Keys: km, Metrics: s.metrics, Logger: logger.With("listener", "admin"),
		DataDir: cfg.DataDir, MasterKey: mk, Version: cfg.Version, Started: time.Now(),
		Listeners: s.listenerAddrs, Ready: s.ready,
		Usage:             s.usage,
		Labels:            s.labels,
		KeyGroups:         s.kgroups,
		Audit:             cfg.Audit,
		Node:              cfg.Node,
		AuditTrail:        s.trailOrNil(),
		Keyring:           s.rotator,
		CompactionPending: s.compactionPending,
		MasterKeyRotate:   s.rotateMasterKey,
		Backup:            s.Backup,
		Cluster:           s.clusterOrNil(),
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), s.closeStore())
	}
	s.router = kmip.NewRouter(km, logger, kmip.WithResolver(reg), kmip.WithMetrics(s.metrics), kmip.WithUsage(s.usage),
		kmip.WithAudit(cfg.Audit, cfg.Node), kmip.WithServeGate(s.serveGate()),
		kmip.WithFreshGroups(cfg.FreshGroups...),
		kmip.WithCertIssuer(pki.NewCertIssuer(cfg.DataDir, mk)))
	return s, nil
}

// errRevokedCert fails the handshake of a revoked client certificate.
var errRevokedCert = errors.New("server: client certificate revoked")

// refuseRevoked returns the TLS hook that makes every listener (KMIP,
// device, admin) refuse a revoked client certificate during the handshake.
func refuseRevoked(reg *devices.Registry) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) > 0 && reg.IsRevoked(devices.Fingerprint(cs.PeerCertificates[0])) {
			return errRevokedCert
		}
		return nil
	}
}

// Devices returns the device registry: devices, groups, pending lists and
// revoked certificates, and the identity of every client.
func (s *Server) Devices() *devices.Registry { return s.devices }

// Metrics returns the server's metrics, served on the admin listener's
// /metrics.
func (s *Server) Metrics() *admin.Metrics { return s.metrics }

// Usage returns the key-usage log: served and refused keys, by volume,
// alias and drive.
func (s *Server) Usage() *usage.Log { return s.usage }

// Labels returns the key label service: the RSA key pairs that wrap 3592
// data keys.
func (s *Server) Labels() *labels.Service { return s.labels }

// KeyGroups returns the LTO key group service: pre-generated AES-256 keys
// by alias.
func (s *Server) KeyGroups() *keygroups.Service { return s.kgroups }

// Keys returns the lifecycle core that every front end calls.
func (s *Server) Keys() *keys.Manager { return s.keys }

// listenerAddrs returns the bound addresses by listener name.
func (s *Server) listenerAddrs() map[string]string {
	kmipAddr, deviceAddr, adminAddr := s.Addrs()
	return map[string]string{"kmip": kmipAddr, "device": deviceAddr, "admin": adminAddr}
}

// ready reports whether the server serves: listeners bound, not shutting
// down, store open.
func (s *Server) ready() error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	switch {
	case !started:
		return errors.New("server: listeners not bound")
	case s.draining.Load():
		return errors.New("server: shutting down")
	case s.storeClosed.Load():
		return errors.New("server: store closed")
	}
	if err := audit.Ready(s.cfg.Audit); err != nil {
		return fmt.Errorf("server: audit trail: %w", err)
	}
	return nil
}

// Start binds the three listeners and serves them in the background; it
// returns once all are bound. Cancelling ctx shuts the server down as
// Shutdown does. If Start fails, the server is closed.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: already started")
	}
	select {
	case <-s.done:
		return errors.New("server: already shut down")
	default:
	}
	var lc net.ListenConfig
	var bound []net.Listener
	listen := func(name, addr string) (net.Listener, error) {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("server: %s listener on %s: %w", name, addr, err)
		}
		bound = append(bound, ln)
		return ln, nil
	}
	kmipLn, err := listen("kmip", s.cfg.KMIPAddr)
	var deviceLn, adminLn net.Listener
	if err == nil {
		deviceLn, err = listen("device", s.cfg.DeviceAddr)
	}
	if err == nil {
		adminLn, err = listen("admin", s.cfg.AdminAddr)
	}
	var httpLn net.Listener
	if err == nil && s.cfg.KMIPHTTPAddr != "" {
		httpLn, err = listen("kmip-http", s.cfg.KMIPHTTPAddr)
	}
	if err != nil {
		for _, ln := range bound {
			_ = ln.Close()
		}
		cerr := s.closeStore()
		s.err = err
		close(s.done)
		return errors.Join(err, cerr)
	}
	s.kmipLn, s.deviceLn, s.adminLn = kmipLn, deviceLn, adminLn
	s.started = true
	kmipLn = s.metrics.TrackListener("kmip", kmipLn)
	deviceLn = s.metrics.TrackListener("device", deviceLn)
	adminLn = s.metrics.TrackListener("admin", adminLn)

	// Recorded before the first request can be served.
	s.auditServer(auditOpStart, audit.Success, "")
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	grace := s.cfg.ShutdownGrace
	deviceTLS := tls.NewListener(netprobe.Listener(deviceLn), s.tls)
	adminLog := s.log.With("listener", "admin")
	adminSrv := newAdminServer(s.tls, s.admin, adminLog)
	adminTLS := newHandshakeListener(adminLn, adminSrv.TLSConfig, s.cfg.Audit, s.cfg.Node, adminLog,
		s.cfg.HandshakeTimeout, func() { s.metrics.ConnProbed("admin") })
	g.Go(func() error {
		err := kmip.Serve(gctx, tls.NewListener(netprobe.Listener(kmipLn), s.tls), s.router, kmip.ConnConfig{
			Logger:           s.log.With("listener", "kmip"),
			DrainTimeout:     grace,
			Audit:            s.cfg.Audit,
			Node:             s.cfg.Node,
			MaxConns:         s.cfg.MaxConns,
			MaxMessageSize:   s.cfg.MaxMessageSize,
			HandshakeTimeout: s.cfg.HandshakeTimeout,
			Probed:           func() { s.metrics.ConnProbed("kmip") },
		})
		switch {
		case errors.Is(err, kmip.ErrDrainTimeout):
			// Requests outlived the grace period and were cut off, as the
			// other listeners' are; kmip.Serve has logged it.
			return nil
		case err != nil:
			return fmt.Errorf("server: kmip listener: %w", err)
		}
		return nil
	})
	g.Go(func() error { return s.device.Serve(gctx, deviceTLS, grace) })
	if httpLn != nil {
		s.httpLn = httpLn
		httpLog := s.log.With("listener", "kmip-http")
		h := kmiphttp.NewHandler(s.router, kmiphttp.Options{Logger: httpLog, MaxBody: int64(s.cfg.MaxMessageSize)})
		g.Go(func() error {
			return kmiphttp.Serve(gctx, s.metrics.TrackListener("kmip-http", httpLn), s.tls, h, grace, httpLog)
		})
		s.log.Info("listening", "kmip-http", httpLn.Addr().String())
	}
	g.Go(func() error { return serveAdmin(gctx, adminSrv, adminTLS, grace, adminLog) })
	go func() {
		<-gctx.Done()
		s.draining.Store(true)
		s.log.Info("shutting down: draining listeners", "grace", grace)
	}()
	go func() {
		err := g.Wait()
		cancel()
		if err != nil {
			s.auditServer(auditOpStop, audit.Failure, "a listener failed")
		} else {
			s.auditServer(auditOpStop, audit.Success, "")
		}
		if cerr := s.closeStore(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if err != nil {
			s.log.Error("server stopped", "err", err)
		} else {
			s.log.Info("server stopped")
		}
		s.err = err
		close(s.done)
	}()
	kmipAddr, deviceAddr, adminAddr := s.addrsLocked()
	s.log.Info("listening", "kmip", kmipAddr, "device", deviceAddr, "admin", adminAddr)
	return nil
}

// Addrs returns the bound addresses of the KMIP, device and admin
// listeners (host:port), or empty strings before Start.
func (s *Server) Addrs() (kmipAddr, deviceAddr, adminAddr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrsLocked()
}

// KMIPHTTPAddr returns the bound address of the KMIP over HTTPS listener
// (host:port), or "" when it is not served or before Start.
func (s *Server) KMIPHTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

func (s *Server) addrsLocked() (string, string, string) {
	if !s.started {
		return "", "", ""
	}
	return s.kmipLn.Addr().String(), s.deviceLn.Addr().String(), s.adminLn.Addr().String()
}

// Wait blocks until the server has stopped and its store is closed, and
// returns why it stopped: nil after a clean shutdown, otherwise the first
// listener error.
func (s *Server) Wait() error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		select {
		case <-s.done: // Start failed
			return s.err
		default:
			return errors.New("server: not started")
		}
	}
	<-s.done
	return s.err
}

// Shutdown stops the server: listeners stop accepting, in-flight requests
// get up to Config.ShutdownGrace to finish, then connections are closed and
// the store is closed. It returns what Wait returns, or ctx's error if ctx
// ends first (the drain then goes on in the background). Shutdown of a
// server that was never started just closes the store. It is safe to call
// more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started, cancel := s.started, s.cancel
	s.mu.Unlock()
	if !started {
		return s.closeStore()
	}
	cancel()
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
}

// closeStore closes the store once.
func (s *Server) closeStore() error {
	s.closeMu.Do(func() {
		s.storeClosed.Store(true)
		if s.trail != nil {
			if err := s.trail.Close(); err != nil {
				s.closeEr = fmt.Errorf("server: close audit trail: %w", err)
			}
		}
		if s.rotator != nil {
			_ = s.rotator.Close() // its progress is in the store: it resumes at the next start
		}
		if err := s.store.Close(); err != nil {
			s.closeEr = errors.Join(s.closeEr, fmt.Errorf("server: close store: %w", err))
		}
		if err := closeMasterKey(s.mk); err != nil {
			s.closeEr = errors.Join(s.closeEr, fmt.Errorf("server: %w", err))
		}
	})
	return s.closeEr
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
