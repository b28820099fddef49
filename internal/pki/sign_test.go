package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier"
)

func TestSignLabel(t *testing.T) {
	dir, mk := initDir(t)
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	otherMK, err := barrier.CreateMasterKey(other, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		signer  *LabelSigner
		pub     *rsa.PublicKey
		wantErr bool
	}{
		{"signed by the CA", NewLabelSigner(dir, mk), &key.PublicKey, false},
		{"no public key", NewLabelSigner(dir, mk), nil, true},
		{"no master key", NewLabelSigner(dir, nil), &key.PublicKey, true},
		{"wrong master key", NewLabelSigner(dir, otherMK), &key.PublicKey, true},
		{"uninitialised data dir", NewLabelSigner(other, otherMK), &key.PublicKey, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := tc.signer.SignLabel(tc.pub, "Tape_Lbl_1")
			if tc.wantErr {
				if err == nil {
					t.Fatal("signed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ca := mustReadCert(t, PathsFor(dir).CACert)
			if err := cert.CheckSignatureFrom(ca); err != nil {
				t.Fatalf("not signed by the CA: %v", err)
			}
			if cert.Subject.CommonName != "Tape_Lbl_1" || !key.PublicKey.Equal(cert.PublicKey) ||
				cert.KeyUsage != x509.KeyUsageKeyEncipherment || cert.IsCA {
				t.Fatalf("certificate %v usage %v", cert.Subject, cert.KeyUsage)
			}
		})
	}
}
