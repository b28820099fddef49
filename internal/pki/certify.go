package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// oidSubjectAltName is the X.509 subject alternative name extension.
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// certifyValidity is the validity of a certificate issued for a client's
// public key when the request names no end date.
const certifyValidity = 365 * 24 * time.Hour

// ErrRefused wraps the reasons IssueCertificate refuses a request (as
// opposed to failing to reach the CA).
var ErrRefused = errors.New("pki: certify: request refused")

// CertRequest describes a certificate the CA issues for a client's public
// key (KMIP Certify and Re-certify).
type CertRequest struct {
	// PublicKey is the key to certify: *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	PublicKey crypto.PublicKey
	// RawSubject is the DER subject name, kept byte for byte (the RDN
	// order of a PKCS#10 request survives). Required.
	RawSubject []byte
	// Subject alternative names.
	DNSNames       []string
	EmailAddresses []string
	IPAddresses    []net.IP
	URIs           []*url.URL
	// RawSubjectAltName is the DER value of a subject alternative name
	// extension, used as-is instead of the names above when set.
	RawSubjectAltName []byte
	// KeyUsage of the certificate; 0 leaves the extension out.
	KeyUsage x509.KeyUsage
	// NotBefore and NotAfter bound the validity. A zero NotBefore is now
	// (backdated for clock skew); a zero NotAfter is NotBefore plus one
	// year.
	NotBefore, NotAfter time.Time
}

// CertIssuer issues certificates for clients' public keys with the data
// directory's CA. It opens the CA key for each certificate and keeps
// nothing in memory, like LabelSigner.
type CertIssuer struct {
	dataDir string
	mk      barrier.MasterKey
}

// NewCertIssuer returns a CertIssuer over the CA in DIR/pki, opened with mk.
func NewCertIssuer(dataDir string, mk barrier.MasterKey) *CertIssuer {
	return &CertIssuer{dataDir: dataDir, mk: mk}
}

// CACertificate returns the CA certificate that signs what Issue issues.
func (s *CertIssuer) CACertificate() (*x509.Certificate, error) {
	if s == nil {
		return nil, errors.New("pki: certify: no CA")
	}
	return readCert(PathsFor(s.dataDir).CACert)
}

// Issue signs a certificate for req with the CA and returns its DER bytes.
func (s *CertIssuer) Issue(req CertRequest) ([]byte, error) {
	if s == nil || s.mk == nil {
		return nil, errors.New("pki: certify: no CA key available")
	}
	ca, caKey, err := openCA(s.dataDir, s.mk)
	if err != nil {
		return nil, err
	}
	return IssueCertificate(ca, caKey, req, time.Now())
}

// IssueCertificate signs a certificate for req with ca and caKey at time
// now: a random positive 128-bit serial number, an end-entity certificate
// (basic constraints CA false) carrying req's subject, names and key
// usage. It refuses a request without a subject or public key, one whose
// validity ends before it starts or after the CA's, and a CA certificate
// that may not sign certificates.
func IssueCertificate(ca *x509.Certificate, caKey *ecdsa.PrivateKey, req CertRequest, now time.Time) ([]byte, error) {
	if req.PublicKey == nil {
		return nil, fmt.Errorf("%w: no public key", ErrRefused)
	}
	switch req.PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: public key type %T not supported", ErrRefused, req.PublicKey)
	}
	if err := checkSubject(req.RawSubject); err != nil {
		return nil, err
	}
	if ca == nil || caKey == nil || !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("pki: certify: the issuer is not a certificate authority")
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = now.Add(-backdate)
	}
	notAfter := req.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.Add(certifyValidity)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("%w: validity ends (%s) before it starts (%s)", ErrRefused, notAfter.UTC(), notBefore.UTC())
	}
	if notAfter.After(ca.NotAfter) {
		return nil, fmt.Errorf("%w: validity ends after the CA's (%s)", ErrRefused, ca.NotAfter.UTC())
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            req.RawSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              req.KeyUsage,
		BasicConstraintsValid: true,
		DNSNames:              req.DNSNames,
		EmailAddresses:        req.EmailAddresses,
		IPAddresses:           req.IPAddresses,
		URIs:                  req.URIs,
	}
	if len(req.RawSubjectAltName) > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidSubjectAltName, Value: req.RawSubjectAltName}}
	}
	cert, err := sign(tmpl, ca, req.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("pki: certify: %w", err)
	}
	return cert.Raw, nil
}

// checkSubject refuses an empty or malformed DER subject name.
func checkSubject(der []byte) error {
	var rdn pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &rdn)
	switch {
	case len(der) == 0:
		return fmt.Errorf("%w: no subject name", ErrRefused)
	case err != nil:
		return fmt.Errorf("%w: subject name: %w", ErrRefused, err)
	case len(rest) > 0:
		return fmt.Errorf("%w: subject name: trailing data", ErrRefused)
	case len(rdn) == 0:
		return fmt.Errorf("%w: empty subject name", ErrRefused)
	}
	return nil
}
