package e2e

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// probeHandshakeTimeout is the handshake timeout of the server under
// TestAuditProbes: a silent client is cut off after it.
const probeHandshakeTimeout = time.Second

// TestAuditProbes: on each of the three listeners (KMIP, device, admin),
// a TCP connection closed or reset before it sent a byte — a load
// balancer's health probe — records no audit event and counts one in
// keywarden_connections_probed_total{listener}; a connection that sent a
// byte (garbage, plain HTTP, a TLS 1.1 ClientHello) or stayed silent until
// the handshake timeout is a refused handshake: exactly one denied auth
// event, no probe counted.
func TestAuditProbes(t *testing.T) {
	rec := &gatedRecorder{Memory: &audit.Memory{}}
	env := testenv.Start(t, testenv.WithAudit(rec),
		testenv.WithConfig(func(c *server.Config) { c.HandshakeTimeout = probeHandshakeTimeout }))

	listeners := []struct {
		name  string
		addr  string
		proto audit.Protocol
		op    string
	}{
		{"kmip", env.KMIPAddr, audit.ProtoKMIP, "Handshake"},
		{"device", env.DeviceAddr, audit.ProtoDevice, "handshake"},
		{"admin", env.AdminAddr, audit.ProtoAdmin, "handshake"},
	}
	clients := []struct {
		name  string
		act   func(t *testing.T, c *net.TCPConn)
		probe bool
		idle  bool // the server ends it at the handshake timeout
	}{
		{name: "connect and close", probe: true, act: func(*testing.T, *net.TCPConn) {}},
		{name: "connect and reset", probe: true, act: func(t *testing.T, c *net.TCPConn) {
			if err := c.SetLinger(0); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "one garbage byte then close", act: func(t *testing.T, c *net.TCPConn) {
			sendThenWait(t, c, []byte{0x00})
		}},
		{name: "plain HTTP", act: func(t *testing.T, c *net.TCPConn) {
			sendThenWait(t, c, []byte("GET /healthz HTTP/1.1\r\nHost: keywarden\r\n\r\n"))
		}},
		{name: "TLS 1.1 ClientHello", act: func(t *testing.T, c *net.TCPConn) {
			// The versions every listener must refuse.
			old := &tls.Config{RootCAs: env.AdminTLS.RootCAs, ServerName: "127.0.0.1",
				MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
			tc := tls.Client(c, old)
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tc.Handshake(); err == nil {
				t.Fatal("the server accepted TLS 1.1")
			}
		}},
		{name: "silent until the handshake timeout", idle: true, act: func(t *testing.T, c *net.TCPConn) {
			_ = c.SetReadDeadline(time.Now().Add(10 * probeHandshakeTimeout))
			var b [1]byte
			_, err := c.Read(b[:])
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server left a silent connection open past its handshake timeout")
			}
		}},
	}
	for _, l := range listeners {
		for _, cl := range clients {
			t.Run(l.name+"/"+cl.name, func(t *testing.T) {
				rec.Reset()
				before := probedCount(t, env, l.name)
				c, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				cl.act(t, c.(*net.TCPConn))
				_ = c.Close()

				if cl.probe {
					deadline := time.Now().Add(5 * time.Second)
					for probedCount(t, env, l.name) != before+1 {
						if time.Now().After(deadline) {
							t.Fatalf("keywarden_connections_probed_total{listener=%q} = %v, want %v", l.name, probedCount(t, env, l.name), before+1)
						}
						time.Sleep(10 * time.Millisecond)
					}
					time.Sleep(authSettle) // an audit event would come now
					if evs := rec.Events(); len(evs) != 0 {
						t.Fatalf("a probe was audited: %s", dumpEvents(evs))
					}
					return
				}
				ev := waitEvent(t, rec, l.proto, l.op)
				time.Sleep(authSettle)
				if n := len(authEvents(rec)); n != 1 {
					t.Fatalf("%d auth events, want exactly 1: %s", n, dumpEvents(rec.Events()))
				}
				if ev.Type != audit.TypeAuth || ev.Outcome != audit.Denied || ev.Reason != "TLS handshake refused" {
					t.Fatalf("event %+v", ev)
				}
				if cl.idle && time.Since(start) < probeHandshakeTimeout/2 {
					t.Fatalf("closed after %v, well before the handshake timeout %v", time.Since(start), probeHandshakeTimeout)
				}
				if got := probedCount(t, env, l.name); got != before {
					t.Fatalf("counted as a probe: keywarden_connections_probed_total{listener=%q} = %v, want %v", l.name, got, before)
				}
			})
		}
	}
}

// sendThenWait writes b and gives the server time to read it before the
// client closes.
func sendThenWait(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
}

// probedCount returns keywarden_connections_probed_total{listener}, 0
// while nothing was counted.
func probedCount(t *testing.T, env *testenv.Env, listener string) float64 {
	t.Helper()
	mfs, err := env.Server.Metrics().Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "keywarden_connections_probed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "listener" && lp.GetValue() == listener {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
