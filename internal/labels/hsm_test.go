//go:build cgo

package labels

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/eedk"
)

// countingHSM counts the random bytes drawn from the token.
type countingHSM struct {
	HSM
	random atomic.Int64
}

func (c *countingHSM) Random(p []byte) error {
	c.random.Add(int64(len(p)))
	return c.HSM.Random(p)
}

// newHSM creates a PKCS#11 master key in a fresh SoftHSM2 token and
// returns the HSM sharing its session.
func newHSM(t *testing.T) (*countingHSM, *pkcs11HSM) {
	t.Helper()
	tok := softhsmtest.New(t, "kw-labels")
	mk, err := barrier.CreateMasterKeyWith(t.TempDir(), barrier.MasterKeyOptions{
		Seal: barrier.KindPKCS11, PKCS11: barrier.PKCS11Config{Module: tok.Module, TokenLabel: tok.Label}, PINFile: tok.PINFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mk.(io.Closer).Close() })
	h, ok := HSMFromMasterKey(mk)
	if !ok {
		t.Fatal("a PKCS#11 master key gives no HSM")
	}
	return &countingHSM{HSM: h}, h.(*pkcs11HSM)
}

func TestHSMLabel(t *testing.T) {
	hsm, raw := newHSM(t)
	s, _, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "no-hsm", CreateOptions{HSM: true, SelfSigned: true}); !errors.Is(err, ErrNoHSM) {
		t.Fatalf("create --hsm without an HSM: %v; want ErrNoHSM", err)
	}
	s.SetHSM(hsm, false)

	tests := []struct {
		name, hash string
		selfSigned bool
		wantHash   string
		wantErr    error
	}{
		{"CA-signed, hash chosen by the token", "", false, HashSHA1, nil}, // SoftHSM2: OAEP with SHA-1 only
		{"self-signed, SHA-1 asked", HashSHA1, true, HashSHA1, nil},
		{"SHA-256 asked, refused by SoftHSM2", HashSHA256, false, "", ErrInvalid},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "hsm-label-" + string(rune('a'+i))
			lb, err := s.Create(ctx, name, CreateOptions{HSM: true, OAEPHash: tc.hash, SelfSigned: tc.selfSigned})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("create: %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if !lb.HSM || lb.HSMToken != "kw-labels" || lb.HSMKeyID == "" || lb.PrivateKeyID != "" || !lb.HasPrivateKey || lb.OAEPHash != tc.wantHash {
				t.Fatalf("label %+v", lb)
			}
			// A fresh service (a restart) finds the key in the token.
			got, err := s.Get(ctx, name)
			if err != nil || !got.HSM || got.HSMKeyID != lb.HSMKeyID {
				t.Fatalf("get: %+v, %v", got, err)
			}
			s.hsm.keys.Clear()
			pub, h, err := s.PublicKey(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			dk := make([]byte, eedk.DataKeySize)
			_, _ = rand.Read(dk)
			e, err := eedk.Wrap(pub, name, eedk.ByLabel, h, dk)
			if err != nil {
				t.Fatal(err)
			}
			dec, _, err := s.Decrypter(ctx, name)
			if err != nil {
				t.Fatalf("decrypter: %v", err)
			}
			if !isTokenKey(dec) {
				t.Fatalf("decrypter %T is not a key in the token", dec)
			}
			back, err := eedk.Unwrap(dec, e)
			if err != nil || !bytes.Equal(back, dk) {
				t.Fatalf("unwrap in the HSM: %v", err)
			}
			if _, err := s.ExportPrivateKey(ctx, name, ExportOptions{Format: FormatPEM}); !errors.Is(err, ErrInHSM) {
				t.Errorf("export: %v; want ErrInHSM", err)
			}
			// The token refuses to reveal the private key.
			for _, a := range []crypto11.AttributeType{crypto11.CkaPrivateExponent, crypto11.CkaPrime1, crypto11.CkaValue} {
				v, err := raw.ctx.GetAttribute(dec, a)
				if err == nil && v != nil && len(v.Value) > 0 {
					t.Errorf("attribute %#x of the private key readable: %d bytes", a, len(v.Value))
				}
			}
			if err := raw.CheckSensitive(dec.(HSMKey)); err != nil {
				t.Error(err)
			}
		})
	}
}

// isTokenKey reports whether k is a crypto11 private key.
func isTokenKey(k any) bool {
	_, ok := k.(crypto11.SignerDecrypter)
	return ok
}

func TestHSMRequireHardware(t *testing.T) {
	hsm, _ := newHSM(t)
	s, _, _ := newTestService(t)
	s.SetHSM(hsm, true)
	ctx := context.Background()
	lb, err := s.Create(ctx, "required", CreateOptions{SelfSigned: true})
	if err != nil || !lb.HSM {
		t.Fatalf("create without --hsm under required hardware: %+v, %v; want a label in the HSM", lb, err)
	}
	certPEM, key := partnerPEM(t, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if _, err := s.ImportKeyPair(ctx, "imported", certPEM, keyPEM); !errors.Is(err, ErrHardwareRequired) {
		t.Errorf("import a key pair: %v; want ErrHardwareRequired", err)
	}
	if _, err := s.ImportCert(ctx, "partner", certPEM); err != nil {
		t.Errorf("import a partner's certificate alone: %v", err)
	}
	before := hsm.random.Load()
	dk, err := s.NewDataKey()
	if err != nil || len(dk) != eedk.DataKeySize {
		t.Fatalf("data key: %d bytes, %v", len(dk), err)
	}
	if hsm.random.Load()-before != eedk.DataKeySize {
		t.Errorf("the data key was not drawn from the HSM")
	}
	s.SetHSM(hsm, false)
	before = hsm.random.Load()
	if _, err := s.NewDataKey(); err != nil || hsm.random.Load() != before {
		t.Errorf("without required hardware the HSM drew the data key (%v)", err)
	}
}
