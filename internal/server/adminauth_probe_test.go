package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
)

// TestHandshakeListenerProbe: a connection closed before it sent a byte is
// passed to probed and not audited; one that sent a byte, or stayed silent
// until the handshake timeout, is a refused handshake.
func TestHandshakeListenerProbe(t *testing.T) {
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name  string
		act   func(t *testing.T, c net.Conn)
		probe bool
	}{
		{name: "connect and close", probe: true, act: func(*testing.T, net.Conn) {}},
		{name: "one byte then close", act: func(t *testing.T, c net.Conn) {
			if _, err := c.Write([]byte{0x16}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}},
		{name: "silent until the handshake timeout", act: func(t *testing.T, c net.Conn) {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			var b [1]byte
			_, _ = c.Read(b[:]) // returns once the server gives up
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			rec := &audit.Memory{}
			var probed atomic.Int64
			l := newHandshakeListener(raw, &tls.Config{MinVersion: tls.VersionTLS12}, rec, "node-t",
				slog.New(slog.DiscardHandler), timeout, func() { probed.Add(1) })
			t.Cleanup(func() { _ = l.Close() })
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			tc.act(t, c)
			_ = c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for probed.Load() == 0 && len(rec.Events()) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			wantProbes, wantEvents := int64(0), 1
			if tc.probe {
				wantProbes, wantEvents = 1, 0
			}
			if n := probed.Load(); n != wantProbes {
				t.Fatalf("probed %d times, want %d", n, wantProbes)
			}
			if evs := rec.Events(); len(evs) != wantEvents {
				t.Fatalf("%d events, want %d: %+v", len(evs), wantEvents, evs)
			}
		})
	}
}
