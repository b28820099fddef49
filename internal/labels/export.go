package labels

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/ovh/kmip-go"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/keywarden/keywarden/internal/keys"
)

// Formats of an exported private key.
const (
	// FormatPKCS12 is a PKCS#12 file holding the private key and its
	// certificate, encrypted under a passphrase with modern parameters
	// (PBES2 with AES-256-CBC and PBKDF2-HMAC-SHA-256, HMAC-SHA-256 MAC).
	FormatPKCS12 = "pkcs12"
	// FormatPEM is the private key alone in PEM PKCS#8 ("PRIVATE KEY"),
	// unencrypted: only for a transfer the administrator protects
	// otherwise.
	FormatPEM = "pem"
)

// MinPassphraseLen is the shortest passphrase a PKCS#12 export accepts.
const MinPassphraseLen = 8

// ExportOptions are the parameters of ExportPrivateKey.
type ExportOptions struct {
	// Format is FormatPKCS12 (the default) or FormatPEM.
	Format string
	// Passphrase encrypts a PKCS#12 file (at least MinPassphraseLen
	// characters); it must be empty for PEM, which is never encrypted
	// (legacy encrypted PEM is insecure).
	Passphrase string
}

// ExportPrivateKey returns the private key of the label named name, with
// its certificate in PKCS#12, or alone in PEM. It is an administrator's
// operation (the admin API allows it to the admin role only and audits
// it): devices and KMIP clients can never fetch a label's private key,
// which is stored not extractable. A partner's label, or one whose private
// key was destroyed, gives ErrNoPrivateKey. The key is never logged.
func (s *Service) ExportPrivateKey(ctx context.Context, name string, opts ExportOptions) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" {
		format = FormatPKCS12
	}
	switch format {
	case FormatPKCS12:
		if len([]rune(opts.Passphrase)) < MinPassphraseLen {
			return nil, fmt.Errorf("%w: a PKCS#12 export needs a passphrase of at least %d characters", ErrInvalid, MinPassphraseLen)
		}
	case FormatPEM:
		if opts.Passphrase != "" {
			return nil, fmt.Errorf("%w: a PEM export is not encrypted; use %s for a passphrase", ErrInvalid, FormatPKCS12)
		}
	default:
		return nil, fmt.Errorf("%w: export format %q: want %s or %s", ErrInvalid, opts.Format, FormatPKCS12, FormatPEM)
	}
	lb, cert, err := s.find(ctx, name)
	if err != nil {
		return nil, err
	}
	priv, err := s.privateKey(ctx, lb)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch format {
	case FormatPKCS12:
		out, err = pkcs12.Modern.Encode(priv, cert, nil, opts.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("labels: export %q: encode PKCS#12: %w", name, err)
		}
	case FormatPEM:
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("labels: export %q: encode PKCS#8: %w", name, err)
		}
		out = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		clear(der)
	}
	s.log.Warn("key label private key exported", "label", name, "format", format)
	return out, nil
}

// privateKey loads the label's private key from its managed object.
func (s *Service) privateKey(ctx context.Context, lb *Label) (*rsa.PrivateKey, error) {
	if lb.HSM {
		return nil, fmt.Errorf("%w: label %q (token %q)", ErrInHSM, lb.Name, lb.HSMToken)
	}
	if !lb.HasPrivateKey {
		return nil, fmt.Errorf("%w: %q is a certificate alone", ErrNoPrivateKey, lb.Name)
	}
	o, err := s.keys.Get(scope(ctx), lb.PrivateKeyID)
	if err != nil {
		return nil, fmt.Errorf("labels: %q: private key: %w", lb.Name, err)
	}
	pk, ok := o.Value.(*kmip.PrivateKey)
	if !ok || pk == nil {
		return nil, fmt.Errorf("%w: the private key of %q was destroyed", ErrNoPrivateKey, lb.Name)
	}
	der := keyBytes(pk.KeyBlock)
	if der == nil || pk.KeyBlock.KeyFormatType != kmip.KeyFormatTypePKCS_1 {
		return nil, fmt.Errorf("labels: %q: private key is not stored as PKCS#1", lb.Name)
	}
	priv, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("labels: %q: parse private key: %w", lb.Name, keys.ErrCorrupted)
	}
	return priv, nil
}
