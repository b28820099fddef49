package conformance

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testCert returns a self-signed server certificate for 127.0.0.1 and a
// pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "conformance test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// serveTLS accepts one connection and hands it to handle.
func serveTLS(t *testing.T, cfg *tls.Config, handle func(net.Conn)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handle(c)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// readMessage reads one TTLV message.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(hdr[:], body...), nil
}

func TestTLSConn(t *testing.T) {
	cert, pool := testCert(t)
	req := []byte{0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x0D, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}
	resp := []byte{0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x00, 0x00}
	tests := []struct {
		name    string
		server  func(net.Conn)
		timeout time.Duration
		wantErr string
	}{
		{name: "two round trips", server: func(c net.Conn) {
			for range 2 {
				got, err := readMessage(c)
				if err != nil || !bytes.Equal(got, req) {
					return
				}
				_, _ = c.Write(resp)
			}
		}},
		{name: "oversized response", wantErr: "exceeds", server: func(c net.Conn) {
			_, _ = readMessage(c)
			_, _ = c.Write([]byte{0x42, 0x00, 0x7B, 0x01, 0x01, 0x00, 0x00, 0x00})
		}},
		{name: "server hangs up", wantErr: "read response", server: func(c net.Conn) {
			_, _ = readMessage(c)
		}},
		{name: "truncated body", wantErr: "read response body", server: func(c net.Conn) {
			_, _ = readMessage(c)
			_, _ = c.Write([]byte{0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x00, 0x10, 0x42})
		}},
		{name: "context deadline", timeout: 200 * time.Millisecond, wantErr: "deadline", server: func(c net.Conn) {
			_, _ = readMessage(c)
			_, _ = io.Copy(io.Discard, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, tt.server)
			conn, err := DialTLS(addr, &tls.Config{RootCAs: pool})
			if err != nil {
				t.Fatalf("DialTLS: %v", err)
			}
			defer conn.Close()
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			rounds := 1
			if tt.wantErr == "" {
				rounds = 2
			}
			for range rounds {
				got, err := conn.RoundTrip(ctx, req)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("RoundTrip error = %v, want %q", err, tt.wantErr)
					}
					return
				}
				if err != nil || !bytes.Equal(got, resp) {
					t.Fatalf("RoundTrip = %x, %v; want %x", got, err, resp)
				}
			}
		})
	}
}

func TestDialTLSRefuses(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name   string
		server *tls.Config
		client *tls.Config
	}{
		{name: "server offers only TLS 1.1",
			server: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
			client: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10}},
		{name: "untrusted certificate",
			server: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			client: &tls.Config{RootCAs: x509.NewCertPool()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, tt.server, func(c net.Conn) {
				_ = c.(*tls.Conn).Handshake()
			})
			conn, err := DialTLS(addr, tt.client)
			if err == nil {
				conn.Close()
				t.Fatal("DialTLS succeeded")
			}
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				t.Fatalf("DialTLS timed out instead of refusing: %v", err)
			}
		})
	}
}
