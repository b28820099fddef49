// Package netprobe tells a TCP health probe from a failed TLS handshake.
//
// A load balancer or a monitoring system checks that a port is open by
// connecting and closing again without sending a byte. Its connection fails
// the TLS handshake like a refused client does, but it attempted no
// authentication, so the listeners count it (keywarden_connections_probed_total)
// instead of recording a denied authentication event. A connection is a
// probe only when the peer closed it (end of file or reset) before a single
// byte arrived: one that sent anything, or that stayed open, silent, until
// the handshake timed out, is a refused handshake as before. The test is
// on bytes received, never on what they say: no TLS parsing here.
package netprobe

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// Conn is a net.Conn that remembers whether a Read ever returned a byte,
// and the error of the reads made before one did. Once a byte came, a
// Read costs one atomic load more than the connection's own.
type Conn struct {
	net.Conn

	received atomic.Bool // a Read returned n > 0
	mu       sync.Mutex
	silent   error // the first Read error while nothing was received
}

// Wrap returns c recording what its reads return.
func Wrap(c net.Conn) *Conn { return &Conn{Conn: c} }

// Read reads from the connection and records whether bytes arrived.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	switch {
	case c.received.Load():
	case n > 0:
		c.received.Store(true)
	case err != nil:
		c.mu.Lock()
		if c.silent == nil {
			c.silent = err
		}
		c.mu.Unlock()
	}
	return n, err
}

// Received reports whether any byte was read from the connection.
func (c *Conn) Received() bool { return c.received.Load() }

// Probe reports whether the peer closed the connection — end of file or
// a reset — before sending a single byte. A read that timed out, or that
// failed because the server closed the connection itself, is no probe.
func (c *Conn) Probe() bool {
	if c.received.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return peerClosed(c.silent)
}

// peerClosed reports whether err says the peer ended the connection.
func peerClosed(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
}

// IsProbe reports whether c, a *Conn or a *tls.Conn over one, is a probe
// (see Conn.Probe). A connection that Wrap did not wrap is never one, so
// a listener left unwrapped records every failed handshake.
func IsProbe(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	pc, ok := c.(*Conn)
	return ok && pc.Probe()
}

// Listener returns ln with every accepted connection wrapped (Wrap). Put
// it right under tls.NewListener, so that tls.Conn.NetConn returns the
// *Conn that IsProbe looks for.
func Listener(ln net.Listener) net.Listener { return &listener{Listener: ln} }

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
