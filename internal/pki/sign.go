package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// labelValidity is how long a key label's certificate is valid.
const labelValidity = 10 * 365 * 24 * time.Hour

// LabelSigner signs key label certificates with the data directory's CA.
// It opens the CA key for each signature and keeps nothing in memory.
type LabelSigner struct {
	dataDir string
	mk      barrier.MasterKey
}

// NewLabelSigner returns a LabelSigner over the CA in DIR/pki, opened with mk.
func NewLabelSigner(dataDir string, mk barrier.MasterKey) *LabelSigner {
	return &LabelSigner{dataDir: dataDir, mk: mk}
}

// SignLabel issues a certificate for a key label's RSA public key, with the
// label as common name, signed by the CA (key encipherment only).
func (s *LabelSigner) SignLabel(pub *rsa.PublicKey, name string) (*x509.Certificate, error) {
	if s == nil || s.mk == nil {
		return nil, errors.New("pki: sign label: no CA key available")
	}
	if pub == nil {
		return nil, errors.New("pki: sign label: no public key")
	}
	ca, caKey, err := openCA(s.dataDir, s.mk)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"keywarden"}, OrganizationalUnit: []string{"key label"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(labelValidity),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	cert, err := sign(tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("pki: sign label: %w", err)
	}
	return cert, nil
}

// openCA reads the CA certificate of DIR/pki and opens its sealed private
// key with mk, checking that the two belong together.
func openCA(dataDir string, mk barrier.MasterKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	p := PathsFor(dataDir)
	ca, err := readCert(p.CACert)
	if err != nil {
		return nil, nil, err
	}
	caKey, err := openSealedKey(mk, p.CAKey, purposeCAKey)
	if err != nil {
		return nil, nil, err
	}
	if err := matchKey(ca, caKey, "CA"); err != nil {
		return nil, nil, err
	}
	return ca, caKey, nil
}
