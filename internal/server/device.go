package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// The device listener is a placeholder until the device protocol lands: it
// accepts TLS connections with client certificates and answers a health
// probe. A client sends the line "PING\n"; the server answers "PONG\n" and
// closes the connection. Anything else (another line, more than
// deviceProbeMax bytes without a newline, silence for deviceProbeTimeout)
// closes the connection without an answer.
const (
	devicePing         = "PING\n"
	devicePong         = "PONG\n"
	deviceProbeMax     = 64
	deviceProbeTimeout = 10 * time.Second
	deviceMaxConns     = 1024
)

// deviceHealth serves the placeholder device protocol.
type deviceHealth struct {
	ln  net.Listener // a TLS listener
	log *slog.Logger

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newDeviceHealth(ln net.Listener, logger *slog.Logger) *deviceHealth {
	return &deviceHealth{ln: ln, log: logger, conns: make(map[net.Conn]struct{})}
}

// serve accepts connections until ctx ends, then waits up to grace for
// open connections to finish and closes the rest.
func (d *deviceHealth) serve(ctx context.Context, grace time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = d.ln.Close() })
	defer stop()
	var acceptErr error
	backoff := 5 * time.Millisecond
	for {
		conn, err := d.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				acceptErr = fmt.Errorf("server: device listener: %w", err)
				break
			}
			// Transient (e.g. out of file descriptors): back off.
			d.log.Warn("device: accept", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !d.track(conn) {
			_ = conn.Close()
			d.log.Warn("device: too many connections, refusing", "remote", conn.RemoteAddr().String())
			continue
		}
		d.wg.Go(func() {
			defer d.untrack(conn)
			d.handle(conn)
		})
	}
	_ = d.ln.Close()
	d.drain(grace)
	return acceptErr
}

// drain waits up to grace for connections, then closes those left.
func (d *deviceHealth) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	d.mu.Lock()
	n := len(d.conns)
	for c := range d.conns {
		_ = c.Close()
	}
	d.mu.Unlock()
	d.log.Warn("device: grace period over, closed connections", "count", n)
	<-done
}

func (d *deviceHealth) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) >= deviceMaxConns {
		return false
	}
	d.conns[c] = struct{}{}
	return true
}

func (d *deviceHealth) untrack(c net.Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
	_ = c.Close()
}

// handle answers one health probe.
func (d *deviceHealth) handle(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	_ = conn.SetDeadline(time.Now().Add(deviceProbeTimeout))
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			d.log.Warn("device: TLS handshake refused", "remote", remote, "err", err)
			return
		}
	}
	line, err := bufio.NewReaderSize(io.LimitReader(conn, deviceProbeMax), deviceProbeMax).ReadString('\n')
	if err != nil || line != devicePing {
		d.log.Debug("device: not a health probe, closing", "remote", remote)
		return
	}
	if _, err := io.WriteString(conn, devicePong); err != nil {
		d.log.Debug("device: write probe answer", "remote", remote, "err", err)
	}
}
