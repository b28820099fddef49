package eedk

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	keysOnce sync.Once
	label20  *rsa.PrivateKey
	label21  *rsa.PrivateKey
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if label20, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if label21, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return label20, label21
}

func dataKey(t *testing.T) []byte {
	dk := make([]byte, DataKeySize)
	if _, err := rand.Read(dk); err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestWrapUnwrap(t *testing.T) {
	k20, k21 := testKeys(t)
	dk := dataKey(t)
	tests := []struct {
		name string
		enc  Encoding
		hash crypto.Hash
	}{
		{"label, SHA-256", ByLabel, crypto.SHA256},
		{"hash, SHA-256", ByHash, crypto.SHA256},
		{"label, SHA-1 (HSM labels)", ByLabel, crypto.SHA1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Wrap(&k20.PublicKey, "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", tc.enc, tc.hash, dk)
			if tc.hash == crypto.SHA1 && fips140.Enabled() {
				if !errors.Is(err, ErrNotFIPS) {
					t.Fatalf("wrap with OAEP SHA-1 in FIPS mode = %v; want ErrNotFIPS", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(e.Wrapped, dk) {
				t.Fatal("data key in clear inside the EEDK")
			}
			want := "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
			if tc.enc == ByHash {
				want, _ = KeyHash(&k20.PublicKey)
			}
			if e.Ref != want {
				t.Fatalf("ref %q, want %q", e.Ref, want)
			}
			got, err := Unwrap(k20, e)
			if err != nil || !bytes.Equal(got, dk) {
				t.Fatalf("unwrap: %v", err)
			}
			if _, err := Unwrap(k21, e); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("unwrap with the other label's key: %v", err)
			}
			e.Wrapped[len(e.Wrapped)/2] ^= 1
			if _, err := Unwrap(k20, e); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("unwrap of a corrupted EEDK: %v", err)
			}
		})
	}
}

func TestWrapRefusesBadInput(t *testing.T) {
	k20, _ := testKeys(t)
	tests := []struct {
		name  string
		label string
		enc   Encoding
		hash  crypto.Hash
		dk    []byte
	}{
		{"short data key", "L1", ByLabel, crypto.SHA256, make([]byte, 16)},
		{"unknown encoding", "L1", 'X', crypto.SHA256, make([]byte, 32)},
		{"empty label", "", ByLabel, crypto.SHA256, make([]byte, 32)},
		{"label too long", strings.Repeat("a", 65), ByLabel, crypto.SHA256, make([]byte, 32)},
		{"MD5", "L1", ByLabel, crypto.MD5, make([]byte, 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Wrap(&k20.PublicKey, tc.label, tc.enc, tc.hash, tc.dk); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestForDevice(t *testing.T) {
	rsaKey, _ := testKeys(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dk := dataKey(t)
	for name, priv := range map[string]crypto.Signer{"RSA": rsaKey, "P-256": p256, "P-384": p384} {
		t.Run(name, func(t *testing.T) {
			ct, err := ForDevice(priv.Public(), dk, []byte("req-1/WXY662"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(ct, dk) {
				t.Fatal("data key in clear")
			}
			got, err := OpenAsDevice(priv, ct, []byte("req-1/WXY662"))
			if err != nil || !bytes.Equal(got, dk) {
				t.Fatalf("open: %v", err)
			}
			if _, err := OpenAsDevice(priv, ct, []byte("req-2/WXY662")); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("open under another context: %v", err)
			}
		})
	}
	ct, _ := ForDevice(p256.Public(), dk, []byte("c"))
	if _, err := OpenAsDevice(other, ct, []byte("c")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("another device opened the key: %v", err)
	}
}
