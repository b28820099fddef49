// Package device serves the keywarden device protocol (docs/device-protocol.md)
// on the device listener: tape drives and disk arrays ask for data keys over
// TLS with client certificates, in frames of package codec. The package
// identifies the device behind each certificate, serves 3592 write, read
// and rekey, LTO write and read, and DS8000 disk key create and unlock,
// records every key served (and, best effort, refused) in the key-usage
// log, and answers a retried request id with the response it already gave,
// byte for byte.
package device

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/netprobe"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/usage"
)

// Connection defaults, as the KMIP listener's.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultReadTimeout      = 30 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultMaxConns         = 1024
)

// Sealer seals and opens stored values; the barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
}

// Options configure a Server. Registry, Labels, Usage, Store and Sealer are
// required.
type Options struct {
	// WriteGate, when set, is asked before keys are served under labels
	// (3592 write and rekey, disk key create): an error refuses it with
	// ErrNotBackedUp (server.Config.RequireBackup).
	WriteGate func(ctx context.Context, labels ...string) error
	// KeyGroupGate, when set, is asked before an LTO write is served a
	// key group key: a refused key is skipped in the round robin, and a
	// write left with no key is refused with ErrKeyNotBackedUp
	// (server.Config.RequireBackup). LTO reads never consult it.
	KeyGroupGate keygroups.Gate
	Registry     *devices.Registry
	Labels       *labels.Service
	Usage        *usage.Log
	// KeyGroups serves LTO keys; when nil, LTO requests are refused as
	// not supported.
	KeyGroups *keygroups.Service
	// Store and Sealer keep the replay entries (bucket "devreplay"),
	// written in the same command as the usage record.
	Store  store.Store
	Sealer Sealer
	// Logger receives the logs; nil discards.
	Logger *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// MaxConns bounds concurrent connections; DefaultMaxConns when zero.
	MaxConns int
	// Timeouts; the defaults above when zero. IdleTimeout is the time
	// allowed before the first byte of a request, ReadTimeout the time to
	// read the rest of it, WriteTimeout the time to write the response.
	HandshakeTimeout, IdleTimeout, ReadTimeout, WriteTimeout time.Duration
	// Audit receives one event per frame (request served, refused, denied
	// or malformed) and per refused TLS handshake; nil records none. The
	// server fails closed: a request is refused when audit.Ready(Audit)
	// fails before its work, or its event cannot be recorded after it.
	Audit audit.Recorder
	// Node names this server in audit events.
	Node string
	// AuditFailed, if set, is called for each request refused because its
	// event could not be recorded (a metrics counter).
	AuditFailed func()
	// Probed, if set, is called for each connection closed by its peer
	// before it sent a byte (a TCP health probe, see package netprobe):
	// it is counted and logged at debug, not audited. It is told apart
	// only when Serve's TLS listener is made over netprobe.Listener.
	Probed func()
}

// Server serves the device protocol.
type Server struct {
	opts Options
	log  *slog.Logger

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// New returns a Server; it does not listen yet (see Serve).
func New(opts Options) (*Server, error) {
	if opts.Registry == nil || opts.Labels == nil || opts.Usage == nil || opts.Store == nil || opts.Sealer == nil {
		return nil, errors.New("device: registry, labels, usage, store and sealer are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	opts.HandshakeTimeout = orDuration(opts.HandshakeTimeout, DefaultHandshakeTimeout)
	opts.IdleTimeout = orDuration(opts.IdleTimeout, DefaultIdleTimeout)
	opts.ReadTimeout = orDuration(opts.ReadTimeout, DefaultReadTimeout)
	opts.WriteTimeout = orDuration(opts.WriteTimeout, DefaultWriteTimeout)
	return &Server{opts: opts, log: opts.Logger, conns: make(map[net.Conn]struct{})}, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Serve accepts connections on ln (a TLS listener requiring client
// certificates, made over netprobe.Listener to tell probes apart) until
// ctx ends, then waits up to grace for open connections to finish their
// exchange and closes the rest. It also prunes expired replay entries
// while it runs.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	pruneCtx, cancelPrune := context.WithCancel(ctx)
	defer cancelPrune()
	s.wg.Go(func() { s.pruneLoop(pruneCtx) })
	var acceptErr error
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				acceptErr = fmt.Errorf("device: listener: %w", err)
				break
			}
			s.log.Warn("device: accept", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.track(conn) {
			_ = conn.Close()
			s.log.Warn("device: too many connections, refusing", "remote", conn.RemoteAddr().String())
			continue
		}
		s.wg.Go(func() {
			defer s.untrack(conn)
			s.serveConn(ctx, conn)
		})
	}
	_ = ln.Close()
	cancelPrune()
	s.drain(grace)
	return acceptErr
}

// drain waits up to grace for connections, then closes those left.
func (s *Server) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.log.Warn("device: grace period over, closed connections", "count", n)
	<-done
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.opts.MaxConns {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

// serveConn runs the request loop of one connection. A panic closes only
// this connection.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("device: panic serving connection, closing it", "remote", remote, "panic", fmt.Sprint(r))
		}
	}()
	tc, ok := conn.(*tls.Conn)
	if !ok {
		s.log.Warn("device: not a TLS connection, closing", "remote", remote)
		return
	}
	start := time.Now()
	_ = tc.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		if netprobe.IsProbe(tc) {
			s.log.Debug("device: connection closed before the TLS handshake began (probe)", "remote", remote)
			if s.opts.Probed != nil {
				s.opts.Probed()
			}
			return
		}
		s.log.Warn("device: TLS handshake refused", "remote", remote, "err", err)
		s.auditHandshake(ctx, tc, remote, start)
		return
	}
	state := tc.ConnectionState()
	if len(state.PeerCertificates) == 0 {
		s.log.Warn("device: no client certificate, closing", "remote", remote)
		s.auditHandshake(ctx, tc, remote, start)
		return
	}
	peer := &peer{cert: state.PeerCertificates[0], remote: remote, fingerprint: pki.Fingerprint(state.PeerCertificates[0])}
	for {
		frame, err := s.readFrame(tc)
		if err != nil {
			s.log.Debug("device: connection closed", "remote", remote, "err", err)
			s.auditBadFrame(ctx, peer, err)
			return
		}
		out, keep := s.exchange(ctx, peer, frame)
		if out != nil {
			_ = tc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			if _, err := tc.Write(out); err != nil {
				s.log.Debug("device: write response", "remote", remote, "err", err)
				return
			}
		}
		if !keep {
			return
		}
	}
}
