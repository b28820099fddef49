package server

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
)

// startHandshakeListener listens on 127.0.0.1:0 behind a handshakeListener
// recording into a memory recorder. The TLS configuration has no
// certificate: these tests never get past the ClientHello.
func startHandshakeListener(t *testing.T) (*handshakeListener, *audit.Memory) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &audit.Memory{}
	l := newHandshakeListener(raw, &tls.Config{MinVersion: tls.VersionTLS12}, rec, "node-t", slog.New(slog.DiscardHandler), 0, nil)
	t.Cleanup(func() { _ = l.Close() })
	return l, rec
}

// TestHandshakeListener: a refused handshake becomes one audit event and
// never reaches Accept; a handshake cut short by Close is no refusal.
func TestHandshakeListener(t *testing.T) {
	t.Run("refused handshake: one auth event, nothing accepted", func(t *testing.T) {
		l, rec := startHandshakeListener(t)
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- c
			}
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(rec.Events()) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		evs := rec.Events()
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1: %+v", len(evs), evs)
		}
		ev := evs[0]
		if ev.Type != audit.TypeAuth || ev.Protocol != audit.ProtoAdmin || ev.Outcome != audit.Denied ||
			ev.Operation != auditOpHandshake || ev.Reason != auditReasonHandshake || ev.Node != "node-t" ||
			ev.Remote != c.LocalAddr().String() || ev.Time.IsZero() {
			t.Fatalf("event %+v", ev)
		}
		select {
		case got := <-accepted:
			got.Close()
			t.Fatal("a refused connection reached Accept")
		default:
		}
	})
	t.Run("close during a handshake: no event, Accept ends", func(t *testing.T) {
		l, rec := startHandshakeListener(t)
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(50 * time.Millisecond) // the handshake is waiting for a ClientHello
		done := make(chan error, 1)
		go func() { done <- l.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close waited for the handshake's timeout")
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if evs := rec.Events(); len(evs) != 0 {
			t.Fatalf("events for a handshake the server cut: %+v", evs)
		}
	})
}
