package kmip_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	kw "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/netprobe"
)

// probeHandshakeTimeout is the handshake timeout of the probe tests: a
// client that stays silent is cut off after it.
const probeHandshakeTimeout = 300 * time.Millisecond

// TestServeHandshakeProbe: a connection closed (or reset) before sending
// a byte is a TCP health probe, counted and not audited; one that sent a
// byte, or stayed silent until the handshake timed out, is a refused
// handshake, audited as before. Without netprobe.Listener every failed
// handshake is audited.
func TestServeHandshakeProbe(t *testing.T) {
	tests := []struct {
		name    string
		wrap    bool
		client  func(t *testing.T, c *net.TCPConn)
		probe   bool
		timeout bool // the server ends it at the handshake timeout
	}{
		{name: "connect and close", wrap: true, probe: true, client: func(t *testing.T, c *net.TCPConn) {}},
		{name: "connect and reset", wrap: true, probe: true, client: func(t *testing.T, c *net.TCPConn) {
			_ = c.SetLinger(0)
		}},
		{name: "one garbage byte then close", wrap: true, client: func(t *testing.T, c *net.TCPConn) {
			probeWrite(t, c, []byte{0x00})
		}},
		{name: "plain HTTP", wrap: true, client: func(t *testing.T, c *net.TCPConn) {
			probeWrite(t, c, []byte("GET / HTTP/1.1\r\nHost: kmip\r\n\r\n"))
		}},
		{name: "silent until the handshake timeout", wrap: true, timeout: true, client: func(t *testing.T, c *net.TCPConn) {
			probeExpectClosed(t, c)
		}},
		{name: "connect and close, listener not wrapped", client: func(t *testing.T, c *net.TCPConn) {}},
	}
	pki := connTestPKI(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &audit.Memory{}
			var probed atomic.Int64
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			var ln net.Listener = inner
			if tc.wrap {
				ln = netprobe.Listener(inner)
			}
			cs := startConnServerOn(t, ln, pki, kw.ConnConfig{
				HandshakeTimeout: probeHandshakeTimeout, Audit: rec, Node: "n",
				Probed: func() { probed.Add(1) },
			}, newConnEcho())

			c, err := net.DialTimeout("tcp", cs.addr, 5*time.Second)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			start := time.Now()
			tc.client(t, c.(*net.TCPConn))
			_ = c.Close()

			if tc.probe {
				waitFor(t, "probe counted", func() bool { return cs.srv.Stats().Probes == 1 })
				time.Sleep(100 * time.Millisecond) // an audit event would come now
				if evs := rec.Events(); len(evs) != 0 {
					t.Fatalf("probe audited: %+v", evs)
				}
				if n := probed.Load(); n != 1 {
					t.Fatalf("Probed called %d times, want 1", n)
				}
				if st := cs.srv.Stats(); st.HandshakeFailures != 0 {
					t.Fatalf("HandshakeFailures = %d for a probe, want 0", st.HandshakeFailures)
				}
				return
			}
			waitFor(t, "refused handshake audited", func() bool { return len(rec.Events()) > 0 })
			time.Sleep(100 * time.Millisecond) // a second event would come now
			evs := rec.Events()
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(evs), evs)
			}
			if ev := evs[0]; ev.Type != audit.TypeAuth || ev.Outcome != audit.Denied || ev.Protocol != audit.ProtoKMIP ||
				ev.Operation != "Handshake" || ev.Reason != "TLS handshake refused" {
				t.Fatalf("event %+v", ev)
			}
			if tc.timeout {
				if d := time.Since(start); d < probeHandshakeTimeout/2 {
					t.Fatalf("closed after %v, before the handshake timeout %v", d, probeHandshakeTimeout)
				}
			}
			st := cs.srv.Stats()
			if st.Probes != 0 || probed.Load() != 0 {
				t.Fatalf("counted as a probe: Probes = %d, Probed called %d times", st.Probes, probed.Load())
			}
			if st.HandshakeFailures != 1 {
				t.Fatalf("HandshakeFailures = %d, want 1", st.HandshakeFailures)
			}
		})
	}
}

// probeWrite writes b and waits a little, so that the server reads it
// before the client closes.
func probeWrite(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
}

// probeExpectClosed waits, sending nothing, until the server closes c.
func probeExpectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); isTimeoutErr(err) {
		t.Fatal("the server left a silent connection open past its handshake timeout")
	}
}
