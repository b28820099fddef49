package labels

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestImportPKCS12(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := selfSign(key, "p12")
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     ImportOptions
		want     error
		password string
	}{
		{"right password", ImportOptions{PKCS12: p12, Password: "s3cret"}, nil, ""},
		{"wrong password", ImportOptions{PKCS12: p12, Password: "nope"}, ErrInvalid, "nope"},
		{"with PEM too", ImportOptions{PKCS12: p12, Password: "s3cret", CertPEM: []byte("x")}, ErrInvalid, "s3cret"},
		{"not PKCS#12", ImportOptions{PKCS12: []byte("junk"), Password: "s3cret"}, ErrInvalid, "s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lb, err := s.Import(ctx, "p12-"+tc.name[:3], tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				if tc.password != "" && strings.Contains(err.Error(), tc.password) {
					t.Errorf("error quotes the password: %v", err)
				}
				return
			}
			if !lb.HasPrivateKey {
				t.Fatal("imported PKCS#12 label has no private key")
			}
			dec, _, err := s.Decrypter(ctx, lb.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !dec.Public().(*rsa.PublicKey).Equal(&key.PublicKey) {
				t.Error("imported private key differs")
			}
		})
	}
}
