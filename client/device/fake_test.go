package device

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/eedk"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a label key
// pair the fake server wraps EEDKs under.
type testPKI struct {
	pool     *x509.CertPool
	server   tls.Certificate
	caCert   *x509.Certificate
	caKey    *ecdsa.PrivateKey
	labelKey *rsa.PrivateKey
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
)

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = makePKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

func makePKI() (*testPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &testPKI{pool: x509.NewCertPool(), caCert: caCert, caKey: caKey}
	p.pool.AddCert(caCert)
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.server, err = p.issue(serverKey, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if p.labelKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	return p, nil
}

// issue signs a certificate for key with the CA.
func (p *testPKI) issue(key crypto.Signer, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "drive"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// clientTLS returns a client configuration with a fresh certificate for key.
func (p *testPKI) clientTLS(t *testing.T, key crypto.Signer) *tls.Config {
	t.Helper()
	cert, err := p.issue(key, x509.ExtKeyUsageClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: p.pool, MinVersion: tls.VersionTLS12}
}

// fakeMode says how a fake server answers.
type fakeMode int

const (
	answer      fakeMode = iota // answer like keywarden
	hangUp                      // read the request, then close without answering
	silent                      // read the request, then say nothing
	internal                    // answer Error Internal
	wrongID                     // answer with another request id
	wrongWrapID                 // wrap the key to another request id
)

// fakeServer is a TLS listener speaking the device protocol.
type fakeServer struct {
	pki  *testPKI
	mode fakeMode
	ln   net.Listener

	mu  sync.Mutex
	ids []codec.RequestID // request ids seen, in order
}

func startFake(t *testing.T, p *testPKI, mode fakeMode) *fakeServer {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.server},
		ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{pki: p, mode: mode, ln: ln}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				f.serve(conn.(*tls.Conn), done)
			}()
		}
	}()
	return f
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

func (f *fakeServer) seen() []codec.RequestID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]codec.RequestID(nil), f.ids...)
}

// serve answers the requests of one connection.
func (f *fakeServer) serve(conn *tls.Conn, done <-chan struct{}) {
	for {
		raw, err := codec.ReadMessage(conn, 0)
		if err != nil {
			return
		}
		m, err := codec.Decode(raw)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.ids = append(f.ids, m.ID())
		f.mu.Unlock()
		switch f.mode {
		case hangUp:
			return
		case silent:
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
			return
		}
		resp := f.respond(m, conn.ConnectionState().PeerCertificates[0].PublicKey)
		frame, err := codec.Encode(resp)
		if err != nil {
			return
		}
		if _, err := conn.Write(frame); err != nil {
			return
		}
	}
}

// respond builds the answer to m for a client whose certificate holds pub.
func (f *fakeServer) respond(m codec.Message, pub crypto.PublicKey) codec.Message {
	id := m.ID()
	if f.mode == internal {
		return codec.Error{RequestID: id, Status: codec.StatusInternal, Message: "internal error"}
	}
	if f.mode == wrongID {
		id[0] ^= 1
	}
	wrapID := id
	if f.mode == wrongWrapID {
		wrapID[0] ^= 1
	}
	fail := func(s codec.Status) codec.Message {
		return codec.Error{RequestID: id, Status: s, Message: s.String()}
	}
	wrap := func(t codec.Type, dk []byte) (codec.WrappedKey, error) {
		ct, err := eedk.ForDevice(pub, dk, codec.WrapContext(t, wrapID))
		alg := codec.WrapRSAOAEPSHA256
		if _, ok := pub.(*ecdsa.PublicKey); ok {
			alg = codec.WrapECDHP256
		}
		return codec.WrappedKey{Algorithm: alg, Ciphertext: ct}, err
	}
	// newPair draws a data key and wraps it under the fake label key as
	// EEDKs named label1 and label2.
	newPair := func(label1, label2 string) ([]byte, [2]codec.EEDK, error) {
		dk := make([]byte, eedk.DataKeySize)
		if _, err := rand.Read(dk); err != nil {
			return nil, [2]codec.EEDK{}, err
		}
		e, err := f.pair(dk, label1, label2)
		return dk, e, err
	}
	// open unwraps the data key from an EEDK made by the fake.
	open := func(e codec.EEDK) ([]byte, codec.Message) {
		dk, err := eedk.Unwrap(f.pki.labelKey, eedk.EEDK{Encoding: eedk.ByLabel, Ref: string(e.KeyRef),
			Hash: crypto.SHA256, Wrapped: e.Data})
		if errors.Is(err, eedk.ErrUnwrap) {
			return nil, fail(codec.StatusWrongState)
		} else if err != nil {
			return nil, fail(codec.StatusInternal)
		}
		return dk, nil
	}
	switch req := m.(type) {
	case codec.WriteKeyRequest:
		if req.DriveSerial == "UNKNOWN" {
			return fail(codec.StatusUnknownDevice)
		}
		dk, e, err := newPair("L20", "L21")
		if err != nil {
			return fail(codec.StatusInternal)
		}
		k, err := wrap(codec.TypeWriteKeyResponse, dk)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.WriteKeyResponse{RequestID: id, EEDK1: e[0], EEDK2: e[1], Key: k}
	case codec.ReadKeyRequest:
		dk, refusal := open(req.EEDK1)
		if refusal != nil {
			return refusal
		}
		k, err := wrap(codec.TypeReadKeyResponse, dk)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.ReadKeyResponse{RequestID: id, Key: k}
	case codec.RekeyRequest:
		dk, refusal := open(req.EEDK1)
		if refusal != nil {
			return refusal
		}
		e, err := f.pair(dk, req.Label1, req.Label2)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.RekeyResponse{RequestID: id, EEDK1: e[0], EEDK2: e[1]}
	case codec.DiskKeyCreateRequest:
		if req.ArraySerial == "UNKNOWN" {
			return fail(codec.StatusUnknownDevice)
		}
		uk, e, err := newPair("D20", "D21")
		if err != nil {
			return fail(codec.StatusInternal)
		}
		k, err := wrap(codec.TypeDiskKeyCreateResponse, uk)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.DiskKeyCreateResponse{RequestID: id, EEDK1: e[0], EEDK2: e[1], Key: k}
	case codec.DiskUnlockRequest:
		uk, refusal := open(req.EEDK1)
		if refusal != nil {
			return refusal
		}
		k, err := wrap(codec.TypeDiskUnlockResponse, uk)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.DiskUnlockResponse{RequestID: id, Key: k}
	case codec.LTOWriteRequest:
		k, err := wrap(codec.TypeLTOWriteResponse, ltoKey)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.LTOWriteResponse{RequestID: id, KeyID: "KEY-0001", Key: k}
	case codec.LTOReadRequest:
		if req.KeyID != "KEY-0001" {
			return fail(codec.StatusNotFound)
		}
		k, err := wrap(codec.TypeLTOReadResponse, ltoKey)
		if err != nil {
			return fail(codec.StatusInternal)
		}
		return codec.LTOReadResponse{RequestID: id, Key: k}
	}
	return fail(codec.StatusBadRequest)
}

// pair wraps dk under the fake label key as two EEDKs named label1 and
// label2.
func (f *fakeServer) pair(dk []byte, label1, label2 string) ([2]codec.EEDK, error) {
	var e [2]codec.EEDK
	for i, label := range []string{label1, label2} {
		w, err := eedk.Wrap(&f.pki.labelKey.PublicKey, label, eedk.ByLabel, crypto.SHA256, dk)
		if err != nil {
			return e, err
		}
		e[i] = codec.EEDK{Encoding: codec.EncodingLabel, KeyRef: []byte(label), Data: w.Wrapped}
	}
	return e, nil
}

// ltoKey is the one key of the fake server's LTO key group.
var ltoKey = []byte("0123456789abcdef0123456789abcdef")
