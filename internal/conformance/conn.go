package conformance

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// MaxResponseSize caps the TTLV response a TLSConn accepts.
const MaxResponseSize = 16 << 20

// defaultTimeout bounds a round trip whose context has no deadline.
const defaultTimeout = 30 * time.Second

// TLSConn is a Conn over one TLS connection; one round trip at a time.
type TLSConn struct {
	mu   sync.Mutex
	conn *tls.Conn
}

// DialTLS opens a TLS connection to a KMIP server. The configuration is
// copied; TLS versions below 1.2 are never offered.
func DialTLS(addr string, cfg *tls.Config) (Conn, error) {
	var c *tls.Config
	if cfg != nil {
		c = cfg.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, c)
	if err != nil {
		return nil, fmt.Errorf("conformance: dial %s: %w", addr, err)
	}
	return &TLSConn{conn: conn}, nil
}

// RoundTrip writes one TTLV message and reads one TTLV message back: the
// 8-byte header, then the length it announces.
func (c *TLSConn) RoundTrip(ctx context.Context, req []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("conformance: set deadline: %w", err)
	}
	// Cancelling the context unblocks a pending read or write.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := c.conn.Write(req); err != nil {
		return nil, fmt.Errorf("conformance: write request: %w", ctxErr(ctx, err))
	}
	var hdr [8]byte
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("conformance: read response header: %w", ctxErr(ctx, err))
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > MaxResponseSize-8 {
		return nil, fmt.Errorf("conformance: response of %d bytes exceeds %d", n, MaxResponseSize)
	}
	resp := make([]byte, 8+int(n))
	copy(resp, hdr[:])
	if _, err := io.ReadFull(c.conn, resp[8:]); err != nil {
		return nil, fmt.Errorf("conformance: read response body: %w", ctxErr(ctx, err))
	}
	return resp, nil
}

// Close closes the TLS connection.
func (c *TLSConn) Close() error {
	if err := c.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("conformance: close: %w", err)
	}
	return nil
}

// ctxErr names the context's error when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}
