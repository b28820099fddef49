package bench

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// echoServer is the ceiling of the KMIP benchmarks: a bare TLS 1.3 server
// with keywarden's own server certificate and client authentication that,
// for every reqLen bytes it reads, writes respLen bytes back, and does
// nothing else.
type echoServer struct {
	addr            string
	reqLen, respLen int

	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startEcho starts an echo server with the TLS configuration of env's
// listeners (loaded from its data directory by internal/pki), pinned to
// TLS 1.3, on 127.0.0.1:0. It stops with tb's cleanup.
func startEcho(tb testing.TB, env *testenv.Env, reqLen, respLen int) *echoServer {
	tb.Helper()
	mk, err := barrier.OpenMasterKey(env.DataDir, "")
	if err != nil {
		tb.Fatal(err)
	}
	conf, err := pki.LoadServerTLS(env.DataDir, mk)
	if err != nil {
		tb.Fatal(err)
	}
	conf.MinVersion = tls.VersionTLS13
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		tb.Fatal(err)
	}
	s := &echoServer{addr: ln.Addr().String(), reqLen: reqLen, respLen: respLen, ln: ln, conns: make(map[net.Conn]struct{})}
	s.wg.Go(s.accept)
	tb.Cleanup(s.close)
	return s
}

func (s *echoServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed by s.close
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(c) })
	}
}

// serve answers every reqLen-byte message on c with respLen bytes until
// the client closes c or a message takes longer than opTimeout.
func (s *echoServer) serve(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	req := make([]byte, s.reqLen)
	resp := make([]byte, s.respLen)
	for {
		_ = c.SetDeadline(time.Now().Add(opTimeout))
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

func (s *echoServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// echoConn is one persistent client connection to an echoServer.
type echoConn struct {
	conn      *tls.Conn
	req, resp []byte
	timeout   time.Duration // bound of one round trip
}

// dialEcho connects to s and completes the handshake.
func dialEcho(s *echoServer, conf *tls.Config) (*echoConn, error) {
	d := net.Dialer{Timeout: opTimeout}
	raw, err := d.Dial("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial echo %s: %w", s.addr, err)
	}
	conn := tls.Client(raw, conf)
	_ = conn.SetDeadline(time.Now().Add(opTimeout))
	if err := conn.Handshake(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: echo handshake: %w", err)
	}
	return &echoConn{conn: conn, req: make([]byte, s.reqLen), resp: make([]byte, s.respLen), timeout: opTimeout}, nil
}

// roundTrip sends one message and reads the whole answer.
func (c *echoConn) roundTrip() error {
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(c.req); err != nil {
		return fmt.Errorf("bench: echo write: %w", err)
	}
	if _, err := io.ReadFull(c.conn, c.resp); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("bench: echo answer shorter than %d bytes: %w", len(c.resp), err)
		}
		return fmt.Errorf("bench: echo read: %w", err)
	}
	return nil
}

func (c *echoConn) close() { _ = c.conn.Close() }
