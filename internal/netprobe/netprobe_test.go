package netprobe_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/netprobe"
)

// pair returns the two ends of a real TCP connection: the server's end
// accepted through netprobe.Listener, and the client's.
func pair(t *testing.T) (server net.Conn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pl := netprobe.Listener(ln)
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return s, c.(*net.TCPConn)
}

func TestConnProbe(t *testing.T) {
	tests := []struct {
		name     string
		client   func(t *testing.T, s net.Conn, c *net.TCPConn)
		probe    bool
		received bool
	}{
		{name: "close without a byte", probe: true, client: func(t *testing.T, _ net.Conn, c *net.TCPConn) {
			_ = c.Close()
		}},
		{name: "reset without a byte", probe: true, client: func(t *testing.T, _ net.Conn, c *net.TCPConn) {
			if err := c.SetLinger(0); err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
		}},
		{name: "one byte then close", received: true, client: func(t *testing.T, _ net.Conn, c *net.TCPConn) {
			if _, err := c.Write([]byte{0x16}); err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
		}},
		{name: "one byte then reset", received: true, client: func(t *testing.T, _ net.Conn, c *net.TCPConn) {
			if _, err := c.Write([]byte{'G'}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let the byte arrive before the reset
			_ = c.SetLinger(0)
			_ = c.Close()
		}},
		{name: "silent until the read deadline", client: func(t *testing.T, s net.Conn, _ *net.TCPConn) {
			_ = s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		}},
		{name: "closed by the server", client: func(t *testing.T, s net.Conn, _ *net.TCPConn) {
			_ = s.Close()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pair(t)
			tc.client(t, s, c)
			var b [16]byte
			for {
				if _, err := s.Read(b[:]); err != nil {
					break
				}
			}
			pc := s.(*netprobe.Conn)
			if got := pc.Probe(); got != tc.probe {
				t.Errorf("Probe() = %v, want %v", got, tc.probe)
			}
			if got := netprobe.IsProbe(s); got != tc.probe {
				t.Errorf("IsProbe() = %v, want %v", got, tc.probe)
			}
			if got := pc.Received(); got != tc.received {
				t.Errorf("Received() = %v, want %v", got, tc.received)
			}
		})
	}
}

// TestIsProbeThroughTLS: a TLS server's failed handshake over a wrapped
// connection is a probe only when the client sent nothing; an unwrapped
// connection never is.
func TestIsProbeThroughTLS(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12} // no certificate: any handshake that starts fails
	tests := []struct {
		name   string
		send   []byte
		unwrap bool
		probe  bool
	}{
		{name: "connect and close", probe: true},
		{name: "connect and close, listener not wrapped", unwrap: true},
		{name: "one garbage byte", send: []byte{0x00}},
		{name: "plain HTTP", send: []byte("GET / HTTP/1.0\r\n\r\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pair(t)
			var under net.Conn = s
			if tc.unwrap {
				under = s.(*netprobe.Conn).Conn
			}
			if len(tc.send) > 0 {
				if _, err := c.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
			if len(tc.send) == 0 {
				_ = c.CloseWrite()
			} else {
				time.AfterFunc(100*time.Millisecond, func() { _ = c.CloseWrite() })
			}
			tlsConn := tls.Server(under, conf)
			_ = tlsConn.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tlsConn.Handshake(); err == nil {
				t.Fatal("handshake succeeded")
			}
			if got := netprobe.IsProbe(tlsConn); got != tc.probe {
				t.Fatalf("IsProbe() = %v, want %v", got, tc.probe)
			}
		})
	}
}
