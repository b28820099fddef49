package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Connection kinds: the first byte a dialer writes after the TLS handshake
// says what the connection carries, so Raft and the forwarding RPC share one
// port and one mutually authenticated TLS configuration.
const (
	connRaft    byte = 'R'
	connForward byte = 'F'
)

// handshakeTimeout bounds an inbound connection's TLS handshake and kind
// byte.
const handshakeTimeout = 10 * time.Second

// nodeTLS builds the server and client TLS configurations of node-to-node
// connections. Both sides present cert and require the peer to present a
// certificate that chains to ca and carries the serverAuth extended key
// usage: only keywarden server certificates do (client, device and label
// certificates from the same CA do not), so a KMIP or admin client cannot
// speak Raft. Host names are not checked: a peer is authenticated as a
// server of this installation, whatever address it is reached at.
func nodeTLS(cert tls.Certificate, ca *x509.CertPool) (server, client *tls.Config, err error) {
	if ca == nil {
		return nil, nil, errors.New("cluster: no CA certificate pool for node authentication")
	}
	if len(cert.Certificate) == 0 {
		return nil, nil, errors.New("cluster: no node certificate")
	}
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("cluster: peer presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: ca, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("cluster: peer is not a server of this installation: %w", err)
		}
		return nil
	}
	server = &tls.Config{
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAnyClientCert, // verified by VerifyConnection
		VerifyConnection: verify,
		MinVersion:       tls.VersionTLS13,
	}
	client = &tls.Config{
		Certificates: []tls.Certificate{cert},
		// The chain is verified by VerifyConnection (CA and serverAuth),
		// without the host name check that the standard verification
		// would add.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection:   verify,
		MinVersion:         tls.VersionTLS13,
	}
	return server, client, nil
}

// streamLayer is Raft's raft.StreamLayer over mutually authenticated TLS.
// Inbound connections are sorted by their kind byte: Raft connections are
// returned by Accept, forwarding connections go to onForward.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	server    *tls.Config
	client    *tls.Config
	log       *slog.Logger
	onForward func(net.Conn)
	source    net.Addr // local address of outbound connections; nil: the system's choice

	raftConns chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// isolated cuts the node off (tests of partitions): dials fail,
	// inbound connections are closed, open ones were closed by isolate.
	isolated atomic.Bool
	connMu   sync.Mutex
	conns    map[*trackedConn]struct{}
}

// trackedConn is a connection the layer can cut.
type trackedConn struct {
	net.Conn
	layer *streamLayer
	once  sync.Once
}

// Close implements net.Conn.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.layer.connMu.Lock()
		delete(c.layer.conns, c)
		c.layer.connMu.Unlock()
	})
	return c.Conn.Close()
}

// track registers c so that isolate can cut it.
func (s *streamLayer) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, layer: s}
	s.connMu.Lock()
	s.conns[tc] = struct{}{}
	s.connMu.Unlock()
	return tc
}

// isolate cuts this node off from every other (on) or reconnects it (off):
// a network partition without a network, for tests.
func (s *streamLayer) isolate(on bool) {
	s.isolated.Store(on)
	if !on {
		return
	}
	s.connMu.Lock()
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.connMu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// newStreamLayer starts accepting on ln.
func newStreamLayer(ln net.Listener, advertise net.Addr, server, client *tls.Config, logger *slog.Logger, onForward func(net.Conn)) *streamLayer {
	s := &streamLayer{
		ln: ln, advertise: advertise, server: server, client: client, log: logger, onForward: onForward,
		raftConns: make(chan net.Conn), closed: make(chan struct{}), conns: map[*trackedConn]struct{}{},
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

func (s *streamLayer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("cluster: accept", "err", err)
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sort(c)
		}()
	}
}

// sort completes the handshake of an inbound connection and hands it over
// by kind.
func (s *streamLayer) sort(c net.Conn) {
	if s.isolated.Load() {
		_ = c.Close()
		return
	}
	c = s.track(c)
	tc := tls.Server(c, s.server)
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	var kind [1]byte
	if err := tc.Handshake(); err != nil {
		s.log.Warn("cluster: refused a connection", "remote", c.RemoteAddr().String(), "err", err)
		_ = c.Close()
		return
	}
	if _, err := io.ReadFull(tc, kind[:]); err != nil {
		_ = tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	switch kind[0] {
	case connRaft:
		select {
		case s.raftConns <- tc:
		case <-s.closed:
			_ = tc.Close()
		}
	case connForward:
		s.onForward(tc)
	default:
		s.log.Warn("cluster: unknown connection kind", "remote", c.RemoteAddr().String())
		_ = tc.Close()
	}
}

// Accept implements net.Listener for Raft's transport.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.raftConns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it stops accepting.
func (s *streamLayer) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.ln.Close()
	})
	return nil
}

// wait waits for the accept loop and the connection handlers to end.
func (s *streamLayer) wait() { s.wg.Wait() }

// Addr implements net.Listener: the address other nodes reach this one at.
func (s *streamLayer) Addr() net.Addr { return s.advertise }

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.dial(string(address), connRaft, timeout)
}

// dial opens a TLS connection of the given kind to a node.
func (s *streamLayer) dial(address string, kind byte, timeout time.Duration) (net.Conn, error) {
	if s.isolated.Load() {
		return nil, fmt.Errorf("cluster: dial %s: node isolated", address)
	}
	raw, err := (&net.Dialer{Timeout: timeout, LocalAddr: s.source}).Dial("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s: %w", address, err)
	}
	c := tls.Client(s.track(raw), s.client)
	_ = c.SetDeadline(time.Now().Add(timeout))
	if err := c.Handshake(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("cluster: dial %s: %w", address, err)
	}
	_ = c.SetDeadline(time.Time{})
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{kind}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("cluster: dial %s: %w", address, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}
