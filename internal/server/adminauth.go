package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/netprobe"
	"github.com/keywarden/keywarden/internal/pki"
)

// Limits of the admin listener's own TLS handshakes.
const (
	// adminHandshakeTimeout bounds one handshake, as http.Server would
	// (the shortest of its read and write timeouts), unless
	// Config.HandshakeTimeout sets another.
	adminHandshakeTimeout = adminReadHeaderTimeout
	// adminMaxHandshakes bounds the handshakes in progress at once; the
	// accept loop waits (the kernel's backlog holds new connections)
	// while that many run.
	adminMaxHandshakes = 256
)

// Audit fields of a refused admin handshake. The reason is fixed text:
// the TLS error, which may echo what the client sent, goes to the log.
const (
	auditOpHandshake       = "handshake"
	auditReasonHandshake   = "TLS handshake refused"
	auditHandshakeProtocol = audit.ProtoAdmin
)

// handshakeListener is the admin listener seen by http.Server: it accepts
// TCP connections, completes each TLS handshake itself (in its own
// goroutine, so that a slow client holds up no other) and hands over only
// the connections whose handshake succeeded. A refused handshake — no
// client certificate, one from another CA, a revoked one — is logged and
// recorded as one audit event (TypeAuth, ProtoAdmin, Denied), as the KMIP
// and device listeners record theirs; http.Server never sees it. A
// connection its client closed before sending a byte (a TCP health probe)
// is no refusal: it is logged at debug and passed to probed only.
type handshakeListener struct {
	raw     net.Listener
	conf    *tls.Config
	log     *slog.Logger
	rec     audit.Recorder
	node    string
	timeout time.Duration // of one handshake
	probed  func()        // may be nil

	ctx    context.Context // cancelled by Close: ends handshakes in progress
	cancel context.CancelFunc
	conns  chan net.Conn // handshaken connections, waiting for Accept
	errc   chan error    // the raw listener's Accept error, once
	sem    chan struct{} // handshakes in progress
	wg     sync.WaitGroup
	once   sync.Once
}

// newHandshakeListener starts accepting on raw; rec may be nil (nothing
// recorded). conf must be the http.Server's TLS configuration, so that
// HTTP/2 is negotiated as ServeTLS would. timeout bounds each handshake
// (adminHandshakeTimeout when zero); probed, if not nil, counts the TCP
// health probes.
func newHandshakeListener(raw net.Listener, conf *tls.Config, rec audit.Recorder, node string, logger *slog.Logger, timeout time.Duration, probed func()) *handshakeListener {
	ctx, cancel := context.WithCancel(context.Background())
	if timeout <= 0 {
		timeout = adminHandshakeTimeout
	}
	l := &handshakeListener{
		raw: raw, conf: conf, log: logger, rec: rec, node: node, timeout: timeout, probed: probed,
		ctx: ctx, cancel: cancel,
		conns: make(chan net.Conn), errc: make(chan error, 1), sem: make(chan struct{}, adminMaxHandshakes),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// acceptLoop accepts TCP connections and starts their handshakes until
// the raw listener fails or is closed.
func (l *handshakeListener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		c, err := l.raw.Accept()
		if err != nil {
			<-l.sem
			if temporary(err) && l.ctx.Err() == nil {
				// As http.Server does (too many open files, for
				// example): back off and go on.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.log.Warn("admin: accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
				case <-l.ctx.Done():
				}
				continue
			}
			l.errc <- err
			return
		}
		delay = 0
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.sem }()
			l.handshake(c)
		}()
	}
}

// temporary reports an accept error worth retrying, as http.Server
// judges it.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return !errors.Is(err, net.ErrClosed) && errors.As(err, &t) && t.Temporary()
}

// handshake completes the TLS handshake of c and hands c to Accept, or
// records the refusal and closes c.
func (l *handshakeListener) handshake(c net.Conn) {
	start := time.Now()
	remote := c.RemoteAddr().String()
	tc := tls.Server(netprobe.Wrap(c), l.conf)
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = tc.Close()
		if l.ctx.Err() != nil {
			return // the listener closed (shutdown): no client was refused
		}
		if netprobe.IsProbe(tc) {
			l.log.Debug("admin: connection closed before the TLS handshake began (probe)", "remote", remote)
			if l.probed != nil {
				l.probed()
			}
			return
		}
		l.log.Warn("admin: TLS handshake refused", "remote", remote, "err", err)
		l.auditRefused(tc, remote, start)
		return
	}
	select {
	case l.conns <- tc:
	case <-l.ctx.Done():
		_ = tc.Close()
	}
}

// auditRefused records a refused handshake. The connection is closed
// either way, so a failure to record is only logged.
func (l *handshakeListener) auditRefused(tc *tls.Conn, remote string, start time.Time) {
	if l.rec == nil {
		return
	}
	ev := audit.Event{
		Time: start.UTC(), Node: l.node, Type: audit.TypeAuth, Protocol: auditHandshakeProtocol,
		Operation: auditOpHandshake, Remote: remote, Outcome: audit.Denied, Reason: auditReasonHandshake,
		Latency: time.Since(start),
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		ev.Client = audit.Client{Fingerprint: pki.Fingerprint(certs[0]), Name: certs[0].Subject.CommonName}
	}
	if err := l.rec.Record(context.Background(), ev); err != nil {
		l.log.Error("admin: audit record not written", "remote", remote, "op", auditOpHandshake, "err", err)
	}
}

// Accept returns the next connection whose TLS handshake succeeded (a
// *tls.Conn), or the raw listener's error once it fails or is closed.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept fails the same way
		return nil, err
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting, ends the handshakes in progress (their
// connections are closed, and not recorded as refused) and waits for
// them.
func (l *handshakeListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.raw.Close()
		l.wg.Wait()
	})
	return err
}

// Addr is the raw listener's address.
func (l *handshakeListener) Addr() net.Addr { return l.raw.Addr() }
