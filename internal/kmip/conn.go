package kmip

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/kmip/wire"
	"github.com/keywarden/keywarden/internal/netprobe"
)

// Defaults of ConnConfig, used for its zero fields.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultReadTimeout      = 30 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultDrainTimeout     = 10 * time.Second
	DefaultMaxConns         = 1024
	DefaultMaxMessageSize   = wire.DefaultMaxMessageSize
)

// readBufferSize is the only per-connection buffer of the connection layer.
const readBufferSize = 4 << 10

// ErrDrainTimeout is returned by Serve when requests were still running
// when the drain time ran out; their contexts were cancelled and their
// connections closed.
var ErrDrainTimeout = errors.New("kmip: drain timed out")

// ConnConfig configures the KMIP connection layer. Zero fields take the
// defaults above.
type ConnConfig struct {
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// HandshakeTimeout bounds the TLS handshake.
	HandshakeTimeout time.Duration
	// IdleTimeout is the time allowed between requests (and before the
	// first one) for the first byte of the next message to arrive.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one message once its first byte came.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response.
	WriteTimeout time.Duration
	// DrainTimeout bounds how long Serve waits, once its context is done,
	// for running requests to finish.
	DrainTimeout time.Duration
	// MaxConns bounds the connections served at once; more are closed as
	// soon as they are accepted.
	MaxConns int
	// MaxMessageSize bounds a request message, header included.
	MaxMessageSize int
	// Limits bound the depth and item count of a request message.
	Limits wire.Limits
	// Audit receives an event for each refused TLS handshake and each
	// message refused by the framing rules before it reaches the handler
	// (which audits the messages it is handed); nil records none.
	Audit audit.Recorder
	// Node names this server in audit events.
	Node string
	// Probed, if set, is called for each connection closed by its peer
	// before it sent a byte (a TCP health probe, see package netprobe):
	// such a connection is counted and logged at debug, not audited. It
	// is told apart only when the TLS listener is made over
	// netprobe.Listener; otherwise it is audited as a refused handshake.
	Probed func()
}

func (c ConnConfig) withDefaults() ConnConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ServerStats are counters of a Server since it was made.
type ServerStats struct {
	// Active is the number of connections being served now.
	Active int64
	// Accepted counts accepted connections, those refused over the limit included.
	Accepted uint64
	// RejectedOverLimit counts connections closed because MaxConns were open.
	RejectedOverLimit uint64
	// HandshakeFailures counts failed TLS handshakes, missing or
	// unverified client certificates included; probes are not counted.
	HandshakeFailures uint64
	// Probes counts connections closed by their peer before sending a
	// byte (see ConnConfig.Probed).
	Probes uint64
	// Requests counts request messages handed to the handler.
	Requests uint64
	// FramingErrors counts messages refused by the framing or validation
	// rules, or stalled past ReadTimeout; each got an Invalid Message response.
	FramingErrors uint64
	// Panics counts handler panics.
	Panics uint64
}

// Server is the KMIP connection layer: it accepts TLS connections, reads,
// frames and validates request messages, and hands each one to a
// MessageHandler, with deadlines, limits and panic recovery. One Server
// may serve several listeners; they share MaxConns and the counters.
type Server struct {
	cfg ConnConfig
	log *slog.Logger
	sem chan struct{}

	nextID                                                            atomic.Uint64
	active                                                            atomic.Int64
	accepted, rejected, handshakeFails, requests, framingErrs, panics atomic.Uint64
	probes                                                            atomic.Uint64
	lastRejectLog                                                     atomic.Int64
}

// NewServer returns a Server with cfg, defaults filled in.
func NewServer(cfg ConnConfig) *Server {
	cfg = cfg.withDefaults()
	return &Server{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxConns)}
}

// Serve runs NewServer(cfg).Serve(ctx, ln, h).
func Serve(ctx context.Context, ln net.Listener, h MessageHandler, cfg ConnConfig) error {
	return NewServer(cfg).Serve(ctx, ln, h)
}

// Stats returns the current counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Active:            s.active.Load(),
		Accepted:          s.accepted.Load(),
		RejectedOverLimit: s.rejected.Load(),
		HandshakeFailures: s.handshakeFails.Load(),
		Probes:            s.probes.Load(),
		Requests:          s.requests.Load(),
		FramingErrors:     s.framingErrs.Load(),
		Panics:            s.panics.Load(),
	}
}

// Serve accepts connections on ln until ctx is done or ln is closed. ln
// must be a TLS listener (tls.NewListener) whose tls.Config requires and
// verifies client certificates; a connection without a verified client
// certificate is refused after the handshake all the same.
// tls.NewListener(netprobe.Listener(tcp), conf) tells TCP health probes
// from refused handshakes (ConnConfig.Probed).
//
// Accept errors other than a closed listener are retried with a backoff.
// When ctx is done, Serve closes ln and the idle connections, lets running
// requests finish and write their responses for up to DrainTimeout, then
// returns nil, or an error matching ErrDrainTimeout if some did not finish
// (their contexts are then cancelled). Request contexts carry the values
// of ctx but are not cancelled with it. If ln is closed by someone else,
// Serve drains the same way and returns an error matching net.ErrClosed.
func (s *Server) Serve(ctx context.Context, ln net.Listener, h MessageHandler) error {
	if h == nil {
		return errors.New("kmip: serve: nil handler")
	}
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()

	g := &connGroup{conns: make(map[*serverConn]struct{})}
	acceptErr := s.acceptLoop(ctx, ln, func(c net.Conn) {
		sc := g.add(c)
		go s.serveConn(ctx, reqCtx, g, sc, h)
	})
	_ = ln.Close()
	g.shutdown()

	drained := make(chan struct{})
	go func() { g.wg.Wait(); close(drained) }()
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		n := g.closeAll()
		cancelRequests()
		s.log.Warn("kmip: drain timed out, connections closed", "connections", n, "drain_timeout", s.cfg.DrainTimeout)
		return fmt.Errorf("kmip: serve: %d connections still busy after %s: %w", n, s.cfg.DrainTimeout, ErrDrainTimeout)
	}
	if ctx.Err() != nil {
		return nil
	}
	return acceptErr
}

// acceptLoop accepts until ctx is done (nil) or ln is closed (an error
// matching net.ErrClosed). Any other error is logged and retried after a
// backoff of 5ms doubling up to 1s.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, start func(net.Conn)) error {
	const minBackoff, maxBackoff = 5 * time.Millisecond, time.Second
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("kmip: accept: %w", err)
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			s.log.Warn("kmip: accept failed, retrying", "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		s.accepted.Add(1)
		select {
		case s.sem <- struct{}{}:
			s.active.Add(1)
			start(c)
		default:
			n := s.rejected.Add(1)
			// At most one log line a second under a flood. Logged before
			// the close, so that a client that sees its connection refused
			// finds the refusal counted and logged.
			now := time.Now().UnixNano()
			if last := s.lastRejectLog.Load(); now-last >= int64(time.Second) && s.lastRejectLog.CompareAndSwap(last, now) {
				s.log.Warn("kmip: connection refused: too many connections", "remote", c.RemoteAddr().String(), "max_conns", s.cfg.MaxConns, "refused_total", n)
			}
			_ = c.Close()
		}
	}
}

// serveConn runs one connection: handshake, then requests one at a time.
func (s *Server) serveConn(ctx, reqCtx context.Context, g *connGroup, sc *serverConn, h MessageHandler) {
	id := s.nextID.Add(1)
	remote := sc.conn.RemoteAddr().String()
	log := s.log.With("conn", id, "remote", remote)
	defer func() {
		_ = sc.conn.Close()
		g.remove(sc)
		s.active.Add(-1)
		<-s.sem
	}()
	tc, ok := sc.conn.(*tls.Conn)
	if !ok {
		log.Error("kmip: connection is not TLS, closing; the listener must be a TLS listener")
		return
	}
	hsStart := time.Now()
	peer, err := s.handshake(ctx, tc, id)
	if err != nil {
		if netprobe.IsProbe(tc) {
			s.probed(log)
			return
		}
		s.handshakeFails.Add(1)
		log.Info("kmip: handshake failed", "err", err)
		s.auditConn(reqCtx, tc, Peer{RemoteAddr: remote, ConnID: id}, auditOpHandshake, hsStart)
		return
	}
	log.Debug("kmip: connection open", "subject", peer.Certificate.Subject.String())
	br := bufio.NewReaderSize(tc, readBufferSize)
	for {
		if !sc.setIdle(true) {
			return
		}
		_ = tc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		if _, err := br.Peek(1); err != nil {
			s.logClose(log, err, "waiting for a request")
			return
		}
		if !sc.setIdle(false) {
			return
		}
		_ = tc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		msg, err := wire.ReadMessage(br, s.cfg.MaxMessageSize)
		if err == nil {
			_, err = wire.Validate(msg, s.cfg.Limits)
		}
		if err != nil {
			if isTimeout(err) || errors.Is(err, wire.ErrInvalid) {
				// A malformed or stalled message: one error response, then close.
				s.framingErrs.Add(1)
				log.Warn("kmip: invalid message, closing", "err", err)
				s.auditConn(reqCtx, tc, peer, auditOpMessage, time.Now())
				s.write(tc, log, failureResponse(kmip.ResultReasonInvalidMessage, "invalid message"))
				return
			}
			s.logClose(log, err, "reading a request")
			return
		}
		s.requests.Add(1)
		resp, keep := s.handle(reqCtx, log, h, peer, msg)
		if !s.write(tc, log, resp) || !keep {
			return
		}
	}
}

// handshake runs the TLS handshake under HandshakeTimeout (and ctx) and
// returns the verified peer.
func (s *Server) handshake(ctx context.Context, tc *tls.Conn, id uint64) (Peer, error) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	_ = tc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	if err := tc.HandshakeContext(hctx); err != nil {
		return Peer{}, fmt.Errorf("kmip: handshake: %w", err)
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
		return Peer{}, errors.New("kmip: handshake: no verified client certificate (the tls.Config must use RequireAndVerifyClientCert)")
	}
	return Peer{RemoteAddr: tc.RemoteAddr().String(), Certificate: st.PeerCertificates[0], ConnID: id}, nil
}

// probed counts a connection its peer closed before sending a byte: a
// TCP health probe, not an authentication attempt.
func (s *Server) probed(log *slog.Logger) {
	s.probes.Add(1)
	log.Debug("kmip: connection closed before the TLS handshake began (probe)")
	if s.cfg.Probed != nil {
		s.cfg.Probed()
	}
}

// handle calls the handler inside a recover. keep is false when the
// connection must be closed after the response.
func (s *Server) handle(reqCtx context.Context, log *slog.Logger, h MessageHandler, peer Peer, msg []byte) (resp []byte, keep bool) {
	ctx, cancel := context.WithCancel(reqCtx)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			log.Error("kmip: handler panic, closing connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, keep = failureResponse(kmip.ResultReasonGeneralFailure, "internal error"), false
		}
	}()
	resp = h.HandleMessage(ctx, peer, msg)
	if len(resp) == 0 {
		log.Error("kmip: handler returned an empty response, closing connection")
		return failureResponse(kmip.ResultReasonGeneralFailure, "internal error"), false
	}
	return resp, true
}

// write sends one response under WriteTimeout and reports success.
func (s *Server) write(tc *tls.Conn, log *slog.Logger, resp []byte) bool {
	_ = tc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := tc.Write(resp); err != nil {
		log.Info("kmip: write failed, closing", "err", err)
		return false
	}
	return true
}

// logClose logs why a connection ends while no message is being answered.
func (s *Server) logClose(log *slog.Logger, err error, while string) {
	switch {
	case errors.Is(err, io.EOF):
		log.Debug("kmip: connection closed by client")
	case isTimeout(err):
		log.Debug("kmip: timeout, closing", "while", while)
	case errors.Is(err, net.ErrClosed):
		log.Debug("kmip: connection closed by server")
	default:
		log.Info("kmip: read failed, closing", "while", while, "err", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// failureResponse builds the one-item Operation Failed response sent when
// a request cannot be handed to the handler or the handler failed:
// protocol version 1.0, batch count 1, a fixed message.
func failureResponse(reason kmip.ResultReason, message string) []byte {
	msg := kmip.ResponseMessage{
		Header: kmip.ResponseHeader{
			ProtocolVersion: kmip.V1_0,
			TimeStamp:       time.Now().Truncate(time.Second),
			BatchCount:      1,
		},
		BatchItem: []kmip.ResponseBatchItem{{
			ResultStatus:  kmip.ResultStatusOperationFailed,
			ResultReason:  reason,
			ResultMessage: message,
		}},
	}
	return ttlv.MarshalTTLV(&msg)
}

// connGroup tracks the connections of one Serve call for the drain.
type connGroup struct {
	mu      sync.Mutex
	conns   map[*serverConn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// serverConn is one connection and whether it waits for a request.
type serverConn struct {
	conn    net.Conn
	mu      sync.Mutex
	idle    bool
	closing bool
}

func (g *connGroup) add(c net.Conn) *serverConn {
	sc := &serverConn{conn: c, idle: true}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns[sc] = struct{}{}
	g.wg.Add(1)
	return sc
}

func (g *connGroup) remove(sc *serverConn) {
	g.mu.Lock()
	delete(g.conns, sc)
	g.mu.Unlock()
	g.wg.Done()
}

// shutdown marks every connection closing and closes the idle ones; busy
// ones close after writing their response.
func (g *connGroup) shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	for sc := range g.conns {
		sc.mu.Lock()
		sc.closing = true
		if sc.idle {
			_ = rawConn(sc.conn).Close()
		}
		sc.mu.Unlock()
	}
}

// closeAll closes every remaining connection and returns how many there were.
func (g *connGroup) closeAll() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for sc := range g.conns {
		_ = rawConn(sc.conn).Close()
	}
	return len(g.conns)
}

// setIdle records the connection's state and reports whether it may go on.
func (sc *serverConn) setIdle(idle bool) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.idle = idle
	return !sc.closing
}

// rawConn returns the network connection under a TLS one, so that closing
// it never waits on a close_notify alert.
func rawConn(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}
