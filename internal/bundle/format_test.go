package bundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/backup"
)

var testKDF = backup.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// serverCert makes an ECDSA certificate like a keywarden server's.
func serverCert(t *testing.T, curve elliptic.Curve) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "backup-server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, priv
}

func sample() *Contents {
	c := newContents("server-a", time.Unix(1700000000, 0))
	c.Labels = append(c.Labels, Label{Name: "L1", OAEPHash: "SHA-256", CertPEM: "-----BEGIN CERTIFICATE-----\n", KeyPEM: "secret-private-key"})
	c.KeyGroups = append(c.KeyGroups, KeyGroup{Name: "G1", Keys: []Key{{Alias: "des01", Material: bytes.Repeat([]byte{7}, 32), State: "Active"}}})
	return c
}

func TestBundleRoundTrip(t *testing.T) {
	certA, privA := serverCert(t, elliptic.P256())
	cert384, priv384 := serverCert(t, elliptic.P384())
	pass := []byte("bundle passphrase")
	for _, tc := range []struct {
		name string
		seal func() ([]byte, error)
		keys Keys
	}{
		{"passphrase", func() ([]byte, error) { return SealPassphrase(sample(), pass, testKDF) }, Keys{Passphrase: pass}},
		{"recipient P-256", func() ([]byte, error) { return SealRecipient(sample(), certA) }, Keys{Cert: certA, PrivateKey: privA}},
		{"recipient P-384", func() ([]byte, error) { return SealRecipient(sample(), cert384) }, Keys{Cert: cert384, PrivateKey: priv384}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.seal()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("secret-private-key")) || bytes.Contains(data, []byte("des01")) {
				t.Fatal("bundle content visible in the file")
			}
			c, err := Open(data, tc.keys)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(c.Labels) != 1 || c.Labels[0].KeyPEM != "secret-private-key" || c.Source != "server-a" ||
				len(c.KeyGroups) != 1 || !bytes.Equal(c.KeyGroups[0].Keys[0].Material, bytes.Repeat([]byte{7}, 32)) {
				t.Fatalf("contents changed: %+v", c)
			}
		})
	}
}

func TestBundleRefusals(t *testing.T) {
	certA, privA := serverCert(t, elliptic.P256())
	certB, privB := serverCert(t, elliptic.P256())
	pass := []byte("bundle passphrase")
	toA, err := SealRecipient(sample(), certA)
	if err != nil {
		t.Fatal(err)
	}
	withPass, err := SealPassphrase(sample(), pass, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(d []byte, at int) []byte {
		d = bytes.Clone(d)
		d[at] ^= 1
		return d
	}
	// B's key presented with A's certificate: the fingerprint matches,
	// the key does not.
	for _, tc := range []struct {
		name string
		data []byte
		keys Keys
		want error
	}{
		{"another server's certificate", toA, Keys{Cert: certB, PrivateKey: privB}, ErrOtherRecipient},
		{"another server's key", toA, Keys{Cert: certA, PrivateKey: privB}, ErrDamaged},
		{"flipped ciphertext", flip(toA, len(toA)-5), Keys{Cert: certA, PrivateKey: privA}, ErrDamaged},
		{"flipped encapsulated key", flip(toA, len(MagicRecipient)+1+32+2+3), Keys{Cert: certA, PrivateKey: privA}, ErrDamaged},
		{"truncated", toA[:len(toA)-1], Keys{Cert: certA, PrivateKey: privA}, ErrDamaged},
		{"wrong passphrase", withPass, Keys{Passphrase: []byte("another one")}, backup.ErrWrongPassphrase},
		{"no passphrase", withPass, Keys{}, ErrNeedPassphrase},
		{"flipped passphrase bundle", flip(withPass, len(withPass)-3), Keys{Passphrase: pass}, backup.ErrDamaged},
		{"a backup is not a bundle", []byte(backup.Magic + "rest"), Keys{Passphrase: pass}, ErrNotBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.data, tc.keys)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}
