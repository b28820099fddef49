package kmip_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	kw "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/kmip/wire"
)

func TestServeEchoAndPeer(t *testing.T) {
	h := newConnEcho()
	cs := startConnServer(t, kw.ConnConfig{}, h)
	pki := connTestPKI(t)
	c := cs.dial(t, &pki.client)
	roundTrip(t, c, "a")
	// Two requests in one write are answered in order.
	two := append(connRequest("b"), connRequest("c")...)
	if _, err := c.Write(two); err != nil {
		t.Fatalf("write: %v", err)
	}
	for _, id := range []string{"b", "c"} {
		got, err := wire.ReadMessageTag(c, wire.TagRequestMessage, 0)
		if err != nil || !bytes.Equal(got, connRequest(id)) {
			t.Fatalf("pipelined %s: err %v", id, err)
		}
	}
	h.mu.Lock()
	peer := h.lastPeer
	h.mu.Unlock()
	if peer.Certificate == nil || peer.Certificate.Subject.CommonName != pki.clientName || peer.ConnID == 0 || peer.RemoteAddr == "" {
		t.Fatalf("peer = %+v", peer)
	}
	if st := cs.srv.Stats(); st.Requests != 3 || st.Accepted != 1 || st.Active != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestServeMalformedMessages(t *testing.T) {
	const tagRequest, tagResponse = 0x420078, 0x42007B
	// zeroLengthInteger is the 64-byte message that crashes ovh's decoder.
	zeroInt := func() []byte {
		m := header(tagRequest, 1, 56)
		m = append(m, header(0x420077, 1, 48)...)
		m = append(m, header(0x420069, 1, 24)...)
		m = append(m, header(0x42006A, 2, 0)...)
		m = append(m, header(0x42006B, 2, 4)...)
		m = append(m, 0, 0, 0, 4, 0, 0, 0, 0)
		m = append(m, header(0x42000D, 2, 4)...)
		return append(m, 0, 0, 0, 1, 0, 0, 0, 0)
	}()
	tests := []struct {
		name string
		send []byte
		// closeWrite ends the client's side after sending.
		closeWrite bool
		// bigAlloc bounds the bytes the server may allocate meanwhile.
		bigAlloc bool
	}{
		{name: "truncated", send: append(header(tagRequest, 1, 64), make([]byte, 20)...), closeWrite: true},
		{name: "stalled_mid_message", send: append(header(tagRequest, 1, 64), make([]byte, 20)...)},
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: keywarden\r\n\r\n")},
		{name: "oversized_4GiB", send: header(tagRequest, 1, 0xFFFFFFF8), bigAlloc: true},
		{name: "over_max_message_size", send: header(tagRequest, 1, 1<<20)},
		{name: "zero_length_integer", send: zeroInt},
		{name: "response_instead_of_request", send: append(header(tagResponse, 1, 8), header(0x42000D, 2, 0)...)},
		{name: "trailing_in_structure", send: append(header(tagRequest, 1, 8), 0x42, 0, 0x0D, 2, 0, 0, 0, 4)},
	}
	h := newConnEcho()
	cs := startConnServer(t, kw.ConnConfig{ReadTimeout: 300 * time.Millisecond}, h)
	pki := connTestPKI(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cs.dial(t, &pki.client)
			var before runtime.MemStats
			if tc.bigAlloc {
				runtime.ReadMemStats(&before)
			}
			if _, err := c.Write(tc.send); err != nil {
				t.Fatalf("write: %v", err)
			}
			if tc.closeWrite {
				if err := c.CloseWrite(); err != nil {
					t.Fatalf("close write: %v", err)
				}
			}
			readFailure(t, c, kmip.ResultReasonInvalidMessage, "invalid message")
			expectClosed(t, c)
			if tc.bigAlloc {
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
					t.Fatalf("allocated %d bytes while refusing the message", grew)
				}
			}
			if got := cs.srv.Stats().FramingErrors; got != uint64(i+1) {
				t.Fatalf("framing errors = %d, want %d", got, i+1)
			}
			// The server still serves others.
			roundTrip(t, cs.dial(t, &pki.client), "still-alive")
		})
	}
}

func TestServeRefusesClientCertificates(t *testing.T) {
	pki := connTestPKI(t)
	tests := []struct {
		name string
		cert *tls.Certificate
	}{
		{name: "no_certificate", cert: nil},
		{name: "other_ca", cert: &pki.foreign},
	}
	cs := startConnServer(t, kw.ConnConfig{}, newConnEcho())
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.pool, ServerName: "127.0.0.1"}
			if tc.cert != nil {
				cfg.Certificates = []tls.Certificate{*tc.cert}
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", cs.addr, cfg)
			if err == nil {
				// With TLS 1.3 the client learns of the refusal on its first read.
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(connRequest("x"))
				if _, err = wire.ReadMessageTag(c, wire.TagRequestMessage, 0); err == nil {
					t.Fatal("request served without a valid client certificate")
				}
				if isTimeoutErr(err) {
					t.Fatalf("connection left open: %v", err)
				}
			}
			waitFor(t, "handshake failure counted", func() bool { return cs.srv.Stats().HandshakeFailures == uint64(i+1) })
			if got := cs.srv.Stats().Requests; got != 0 {
				t.Fatalf("requests = %d, want 0", got)
			}
		})
	}
}

func TestServeIdleTimeout(t *testing.T) {
	cs := startConnServer(t, kw.ConnConfig{IdleTimeout: 200 * time.Millisecond}, newConnEcho())
	pki := connTestPKI(t)
	c := cs.dial(t, &pki.client)
	roundTrip(t, c, "then-silence")
	start := time.Now()
	expectClosed(t, c)
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, want about 200ms", d)
	}
	waitFor(t, "connection released", func() bool { return cs.srv.Stats().Active == 0 })
}

func TestServeMaxConns(t *testing.T) {
	cs := startConnServer(t, kw.ConnConfig{MaxConns: 2}, newConnEcho())
	pki := connTestPKI(t)
	first := cs.dial(t, &pki.client)
	roundTrip(t, first, "1")
	second := cs.dial(t, &pki.client)
	roundTrip(t, second, "2")

	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{pki.client}}
	third, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", cs.addr, cfg)
	if err == nil {
		_ = third.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = third.Write(connRequest("3"))
		if _, err := wire.ReadMessageTag(third, wire.TagRequestMessage, 0); err == nil {
			t.Fatal("third connection served over MaxConns 2")
		}
		third.Close()
	}
	if st := cs.srv.Stats(); st.RejectedOverLimit != 1 || st.Active != 2 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(cs.logs.String(), "too many connections") {
		t.Fatal("refusal not logged")
	}
	// Once a connection ends, a new one is served.
	first.Close()
	waitFor(t, "slot released", func() bool { return cs.srv.Stats().Active == 1 })
	roundTrip(t, cs.dial(t, &pki.client), "4")
}

func TestServeHandlerPanic(t *testing.T) {
	cs := startConnServer(t, kw.ConnConfig{}, newConnEcho())
	pki := connTestPKI(t)
	c := cs.dial(t, &pki.client)
	roundTrip(t, c, "before")
	if _, err := c.Write(connRequest("PANIC")); err != nil {
		t.Fatalf("write: %v", err)
	}
	readFailure(t, c, kmip.ResultReasonGeneralFailure, "internal error")
	expectClosed(t, c)
	roundTrip(t, cs.dial(t, &pki.client), "after")
	if got := cs.srv.Stats().Panics; got != 1 {
		t.Fatalf("panics = %d, want 1", got)
	}
	logs := cs.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "handler panic") || !strings.Contains(logs, "connEcho).HandleMessage") {
		t.Fatalf("panic not logged at error level with a stack:\n%s", logs)
	}
}

func TestServeShutdownWaitsForInFlight(t *testing.T) {
	h := newConnEcho()
	cs := startConnServer(t, kw.ConnConfig{}, h)
	pki := connTestPKI(t)
	idle := cs.dial(t, &pki.client)
	roundTrip(t, idle, "idle")
	busy := cs.dial(t, &pki.client)
	req := connRequest("BLOCK")
	if _, err := busy.Write(req); err != nil {
		t.Fatalf("write: %v", err)
	}
	<-h.entered
	cs.cancel()
	// The idle connection is closed at once; Serve waits for the busy one.
	expectClosed(t, idle)
	select {
	case err := <-cs.done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(h.release)
	got, err := wire.ReadMessageTag(busy, wire.TagRequestMessage, 0)
	if err != nil || !bytes.Equal(got, req) {
		t.Fatalf("in-flight response lost: %v", err)
	}
	if err := cs.stop(t); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	expectClosed(t, busy)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ctxErrs) != 1 || h.ctxErrs[0] != nil {
		t.Fatalf("request context errors = %v, want one nil", h.ctxErrs)
	}
	if _, err := net.DialTimeout("tcp", cs.addr, time.Second); err == nil {
		t.Fatal("listener still open after Serve returned")
	}
}

func TestServeDrainTimeout(t *testing.T) {
	h := newConnEcho()
	cs := startConnServer(t, kw.ConnConfig{DrainTimeout: 200 * time.Millisecond}, h)
	pki := connTestPKI(t)
	c := cs.dial(t, &pki.client)
	if _, err := c.Write(connRequest("BLOCK")); err != nil {
		t.Fatalf("write: %v", err)
	}
	<-h.entered
	start := time.Now()
	err := cs.stop(t)
	if !errors.Is(err, kw.ErrDrainTimeout) {
		t.Fatalf("Serve = %v, want ErrDrainTimeout", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Serve returned after %v, want about 200ms", d)
	}
	waitFor(t, "handler saw cancellation", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.ctxErrs) == 1 && errors.Is(h.ctxErrs[0], context.Canceled)
	})
}

// flakyListener fails its first Accept calls with a temporary error.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

type tempErr struct{}

func (tempErr) Error() string   { return "accept: too many open files" }
func (tempErr) Timeout() bool   { return false }
func (tempErr) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, tempErr{}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

func TestServeSurvivesAcceptErrors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	pki := connTestPKI(t)
	cs := startConnServerOn(t, &flakyListener{Listener: inner, fails: 5}, pki, kw.ConnConfig{}, newConnEcho())
	roundTrip(t, cs.dial(t, &pki.client), "after-errors")
	if n := strings.Count(cs.logs.String(), "accept failed"); n != 5 {
		t.Fatalf("logged %d accept failures, want 5", n)
	}
}

func TestServeListenerClosed(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cs := startConnServerOn(t, inner, connTestPKI(t), kw.ConnConfig{}, newConnEcho())
	_ = inner.Close()
	select {
	case err := <-cs.done:
		cs.done <- err
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its listener closed")
	}
}

func TestServeHandshakeTimeout(t *testing.T) {
	cs := startConnServer(t, kw.ConnConfig{HandshakeTimeout: 200 * time.Millisecond}, newConnEcho())
	c, err := net.DialTimeout("tcp", cs.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	expectClosed(t, c) // a client that never starts the handshake
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, want about 200ms", d)
	}
	waitFor(t, "handshake failure counted", func() bool { return cs.srv.Stats().HandshakeFailures == 1 })
}
