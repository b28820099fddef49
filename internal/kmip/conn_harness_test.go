package kmip_test

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
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	kw "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// The harness of conn_test.go: a throwaway PKI, a fake handler, a server
// on 127.0.0.1 and client helpers.

// connPKI is a throwaway CA with a server certificate and two client
// certificates: one from the CA, one from an unrelated CA.
type connPKI struct {
	serverTLS  *tls.Config
	pool       *x509.CertPool
	client     tls.Certificate
	foreign    tls.Certificate
	clientName string
}

var (
	connPKIOnce sync.Once
	connPKIVal  *connPKI
	connPKIErr  error
)

func connTestPKI(t *testing.T) *connPKI {
	t.Helper()
	connPKIOnce.Do(func() { connPKIVal, connPKIErr = newConnPKI() })
	if connPKIErr != nil {
		t.Fatalf("pki: %v", connPKIErr)
	}
	return connPKIVal
}

func newConnPKI() (*connPKI, error) {
	ca, caKey, err := connCA("test CA")
	if err != nil {
		return nil, err
	}
	other, otherKey, err := connCA("other CA")
	if err != nil {
		return nil, err
	}
	server, err := connLeaf(ca, caKey, "server", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	client, err := connLeaf(ca, caKey, "drive-01", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	foreign, err := connLeaf(other, otherKey, "intruder", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &connPKI{
		serverTLS: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{server},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
		},
		pool: pool, client: client, foreign: foreign, clientName: "drive-01",
	}, nil
}

func connCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func connLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// connSyncBuffer collects log output from several goroutines.
type connSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *connSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *connSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// connEcho is the fake handler: it answers a request with the request
// itself, panics when the request contains "PANIC", and blocks when it
// contains "BLOCK" until release is closed or its context ends.
type connEcho struct {
	release  chan struct{}
	entered  chan struct{}
	mu       sync.Mutex
	ctxErrs  []error
	lastPeer kw.Peer
}

func newConnEcho() *connEcho {
	return &connEcho{release: make(chan struct{}), entered: make(chan struct{}, 16)}
}

func (h *connEcho) HandleMessage(ctx context.Context, peer kw.Peer, req []byte) []byte {
	h.mu.Lock()
	h.lastPeer = peer
	h.mu.Unlock()
	switch {
	case bytes.Contains(req, []byte("PANIC")):
		panic("fake handler: marker found")
	case bytes.Contains(req, []byte("BLOCK")):
		h.entered <- struct{}{}
		select {
		case <-h.release:
		case <-ctx.Done():
		}
		h.mu.Lock()
		h.ctxErrs = append(h.ctxErrs, ctx.Err())
		h.mu.Unlock()
	}
	return bytes.Clone(req)
}

// connServer is a running Serve on 127.0.0.1.
type connServer struct {
	addr   string
	srv    *kw.Server
	cancel context.CancelFunc
	done   chan error
	logs   *connSyncBuffer
}

func startConnServer(t *testing.T, cfg kw.ConnConfig, h kw.MessageHandler) *connServer {
	t.Helper()
	pki := connTestPKI(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return startConnServerOn(t, inner, pki, cfg, h)
}

func startConnServerOn(t *testing.T, inner net.Listener, pki *connPKI, cfg kw.ConnConfig, h kw.MessageHandler) *connServer {
	t.Helper()
	logs := &connSyncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	cs := &connServer{addr: inner.Addr().String(), srv: kw.NewServer(cfg), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { cs.done <- cs.srv.Serve(ctx, tls.NewListener(inner, pki.serverTLS), h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-cs.done:
		case <-time.After(15 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return cs
}

// stop cancels the server and returns Serve's result.
func (cs *connServer) stop(t *testing.T) error {
	t.Helper()
	cs.cancel()
	select {
	case err := <-cs.done:
		cs.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
		return nil
	}
}

// dial connects with the given client certificate (nil for none).
func (cs *connServer) dial(t *testing.T, cert *tls.Certificate) *tls.Conn {
	t.Helper()
	pki := connTestPKI(t)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.pool, ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", cs.addr, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// connRequest encodes a real Get request; the unique identifier lets a
// test place a marker in it.
func connRequest(id string) []byte {
	msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: id})
	return ttlv.MarshalTTLV(&msg)
}

// roundTrip sends a request and expects the fake handler's echo.
func roundTrip(t *testing.T, c *tls.Conn, id string) {
	t.Helper()
	req := connRequest(id)
	if _, err := c.Write(req); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := wire.ReadMessageTag(c, wire.TagRequestMessage, 0)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if !bytes.Equal(got, req) {
		t.Fatalf("echo differs from request")
	}
}

// readFailure reads one response and checks it is the connection layer's
// Operation Failed response with the given reason and message.
func readFailure(t *testing.T, c io.Reader, reason kmip.ResultReason, message string) {
	t.Helper()
	raw, err := wire.ReadMessageTag(c, wire.TagResponseMessage, 0)
	if err != nil {
		t.Fatalf("read error response: %v", err)
	}
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		t.Fatalf("decode error response: %v", err)
	}
	if resp.Header.ProtocolVersion != kmip.V1_0 || resp.Header.BatchCount != 1 || len(resp.BatchItem) != 1 {
		t.Fatalf("header: version %v, batch count %d, %d items", resp.Header.ProtocolVersion, resp.Header.BatchCount, len(resp.BatchItem))
	}
	bi := resp.BatchItem[0]
	if bi.ResultStatus != kmip.ResultStatusOperationFailed || bi.ResultReason != reason || bi.ResultMessage != message {
		t.Fatalf("batch item: status %v, reason %v, message %q; want OperationFailed, %v, %q", bi.ResultStatus, bi.ResultReason, bi.ResultMessage, reason, message)
	}
}

// expectClosed checks that the server closes the connection.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	if n, err := c.Read(b[:]); err == nil {
		t.Fatalf("read %d bytes, want the connection closed", n)
	} else if isTimeoutErr(err) {
		t.Fatalf("connection still open: %v", err)
	}
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func header(tag uint32, typ byte, length uint32) []byte {
	b := []byte{byte(tag >> 16), byte(tag >> 8), byte(tag), typ}
	return binary.BigEndian.AppendUint32(b, length)
}
