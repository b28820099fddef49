package device

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/eedk"
)

func newClient(t *testing.T, conf *tls.Config, timeout time.Duration, servers ...string) *Client {
	t.Helper()
	c, err := New(Config{Servers: servers, TLS: conf, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestWriteReadRoundTrip(t *testing.T) {
	p := newPKI(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := startFake(t, p, answer)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
	}{{"RSA client certificate", rsaKey}, {"ECDSA P-256 client certificate", ecKey}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, p.clientTLS(t, tc.key), 5*time.Second, srv.addr())
			ctx := context.Background()
			dk, e1, e2, err := c.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: "0000078A1234", WWN: "WWN1", Volser: "VOL001"})
			if err != nil {
				t.Fatal(err)
			}
			if len(dk) != eedk.DataKeySize || string(e1.KeyRef) != "L20" || string(e2.KeyRef) != "L21" {
				t.Fatalf("write key: %d-byte key, EEDK refs %q %q", len(dk), e1.KeyRef, e2.KeyRef)
			}
			back, err := c.ReadKey(ctx, "0000078A1234", "VOL001", e1, e2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, dk) {
				t.Fatal("read key returned another data key than write key")
			}
			id, key, err := c.LTOWrite(ctx, "LTO1", "VOL002", "")
			if err != nil || id != "KEY-0001" || !bytes.Equal(key, ltoKey) {
				t.Fatalf("LTO write: %q %v", id, err)
			}
			if key, err := c.LTORead(ctx, "LTO1", "", id); err != nil || !bytes.Equal(key, ltoKey) {
				t.Fatalf("LTO read: %v", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	p := newPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	conf := p.clientTLS(t, key)
	good := startFake(t, p, answer)
	req := codec.WriteKeyRequest{DriveSerial: "D1", WWN: "W1", Volser: "VOL001"}
	tests := []struct {
		name       string
		servers    []string
		req        codec.WriteKeyRequest
		wantStatus codec.Status // 0: no *Error expected
	}{
		{name: "status carried", servers: []string{good.addr()}, req: codec.WriteKeyRequest{DriveSerial: "UNKNOWN", WWN: "W", Volser: "V"}, wantStatus: codec.StatusUnknownDevice},
		{name: "other request id", servers: []string{startFake(t, p, wrongID).addr(), good.addr()}, req: req},
		{name: "key wrapped to another request", servers: []string{startFake(t, p, wrongWrapID).addr()}, req: req},
		{name: "internal on every server", servers: []string{startFake(t, p, internal).addr(), startFake(t, p, internal).addr()}, req: req, wantStatus: codec.StatusInternal},
		{name: "no server up", servers: []string{closedAddr(t)}, req: req},
		{name: "invalid request", servers: []string{good.addr()}, req: codec.WriteKeyRequest{DriveSerial: "D1", WWN: "W1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, conf, 2*time.Second, tc.servers...)
			dk, _, _, err := c.WriteKey(context.Background(), tc.req)
			if err == nil || dk != nil {
				t.Fatalf("WriteKey succeeded (%d-byte key)", len(dk))
			}
			var de *Error
			if got := errors.As(err, &de); got != (tc.wantStatus != 0) || (got && de.Status != tc.wantStatus) {
				t.Fatalf("error %v: *Error %v, want status %v", err, de, tc.wantStatus)
			}
			if tc.wantStatus != 0 && !bytes.Contains([]byte(err.Error()), []byte(tc.wantStatus.String())) {
				t.Fatalf("error %q does not name the status", err)
			}
		})
	}
}

func TestFailoverReusesRequestID(t *testing.T) {
	p := newPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	conf := p.clientTLS(t, key)
	tests := []struct {
		name  string
		first fakeMode
	}{
		{"first server closes after the request", hangUp},
		{"first server times out", silent},
		{"first server answers Internal", internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, second := startFake(t, p, tc.first), startFake(t, p, answer)
			c := newClient(t, conf, 500*time.Millisecond, closedAddr(t), first.addr(), second.addr())
			dk, _, _, err := c.WriteKey(context.Background(), codec.WriteKeyRequest{DriveSerial: "D1", WWN: "W1", Volser: "VOL001"})
			if err != nil || len(dk) != eedk.DataKeySize {
				t.Fatalf("WriteKey after failover: %v", err)
			}
			a, b := first.seen(), second.seen()
			if len(a) != 1 || len(b) != 1 {
				t.Fatalf("requests seen: first %d, second %d; want 1 and 1", len(a), len(b))
			}
			if a[0] != b[0] || a[0] == (codec.RequestID{}) {
				t.Fatalf("request ids differ: %x then %x", a[0], b[0])
			}
		})
	}
	t.Run("each call draws a new id", func(t *testing.T) {
		srv := startFake(t, p, answer)
		c := newClient(t, conf, time.Second, srv.addr())
		for range 2 {
			if _, _, _, err := c.WriteKey(context.Background(), codec.WriteKeyRequest{DriveSerial: "D1", WWN: "W1", Volser: "V"}); err != nil {
				t.Fatal(err)
			}
		}
		if ids := srv.seen(); len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("ids %x", ids)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	p := newPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	conf := p.clientTLS(t, key)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no servers", Config{TLS: conf}},
		{"address without port", Config{Servers: []string{"localhost"}, TLS: conf}},
		{"no TLS", Config{Servers: []string{"127.0.0.1:1443"}}},
		{"no client certificate", Config{Servers: []string{"127.0.0.1:1443"}, TLS: &tls.Config{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("New accepted the configuration")
			}
		})
	}
}
