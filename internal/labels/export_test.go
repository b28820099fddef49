package labels

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestExportPrivateKey(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	var logs bytes.Buffer
	s.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lb, err := s.Create(ctx, "exp", CreateOptions{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	dec, _, err := s.Decrypter(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	want := dec.(*rsa.PrivateKey)
	const pass = "correct horse battery"

	t.Run("pkcs12", func(t *testing.T) {
		p12, err := s.ExportPrivateKey(ctx, "exp", ExportOptions{Format: FormatPKCS12, Passphrase: pass})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := pkcs12.DecodeChain(p12, "wrong passphrase"); err == nil {
			t.Fatal("the PKCS#12 file opens with a wrong passphrase")
		}
		key, cert, _, err := pkcs12.DecodeChain(p12, pass)
		if err != nil {
			t.Fatal(err)
		}
		if !want.Equal(key) {
			t.Fatal("the exported key is not the label's")
		}
		if !cert.PublicKey.(*rsa.PublicKey).Equal(&want.PublicKey) {
			t.Fatal("the exported certificate is not the label's")
		}
		// The export imports on another server as the same label.
		other, _, _ := newTestService(t)
		imported, err := other.ImportPKCS12(ctx, "exp", p12, pass)
		if err != nil {
			t.Fatal(err)
		}
		if imported.KeyHash != lb.KeyHash || !imported.HasPrivateKey {
			t.Fatalf("imported %+v, want key hash %s with a private key", imported, lb.KeyHash)
		}
	})
	t.Run("default format is pkcs12", func(t *testing.T) {
		p12, err := s.ExportPrivateKey(ctx, "exp", ExportOptions{Passphrase: pass})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := pkcs12.DecodeChain(p12, pass); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pem", func(t *testing.T) {
		out, err := s.ExportPrivateKey(ctx, "exp", ExportOptions{Format: FormatPEM})
		if err != nil {
			t.Fatal(err)
		}
		block, rest := pem.Decode(out)
		if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
			t.Fatalf("PEM export is not one PRIVATE KEY block: %q", out[:min(len(out), 40)])
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !want.Equal(key) {
			t.Fatal("the exported key is not the label's")
		}
	})

	partner, _ := partnerPEM(t, 1024)
	if _, err := s.ImportCert(ctx, "partner", partner); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name  string
		label string
		opts  ExportOptions
		want  error
	}{
		{"partner certificate", "partner", ExportOptions{Passphrase: pass}, ErrNoPrivateKey},
		{"unknown label", "nosuch", ExportOptions{Passphrase: pass}, ErrNotFound},
		{"bad label name", "a b", ExportOptions{Passphrase: pass}, ErrInvalid},
		{"no passphrase", "exp", ExportOptions{Format: FormatPKCS12}, ErrInvalid},
		{"short passphrase", "exp", ExportOptions{Passphrase: "s3cr3t7"}, ErrInvalid},
		{"PEM with a passphrase", "exp", ExportOptions{Format: FormatPEM, Passphrase: pass}, ErrInvalid},
		{"unknown format", "exp", ExportOptions{Format: "jks", Passphrase: pass}, ErrInvalid},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.ExportPrivateKey(ctx, tc.label, tc.opts)
			if !errors.Is(err, tc.want) || out != nil {
				t.Fatalf("ExportPrivateKey = %d bytes, %v; want %v", len(out), err, tc.want)
			}
			if tc.opts.Passphrase != "" && strings.Contains(err.Error(), tc.opts.Passphrase) {
				t.Fatalf("error quotes the passphrase: %v", err)
			}
		})
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"PRIVATE KEY", pass, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))[30:90]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
	if got := strings.Count(logs.String(), "private key exported"); got != 3 {
		t.Fatalf("%d export log lines, want 3:\n%s", got, logs.String())
	}
}
