package labels

import (
	"context"
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/keys"
)

// selfSignedValidity is how long a self-signed label certificate is valid.
const selfSignedValidity = 10 * 365 * 24 * time.Hour

// Signer issues a label's certificate; pki.LabelSigner signs with the server
// CA.
type Signer interface {
	SignLabel(pub *rsa.PublicKey, name string) (*x509.Certificate, error)
}

// Service creates, imports and finds key labels.
type Service struct {
	keys   *keys.Manager
	signer Signer
	log    *slog.Logger
	hsm    hsmState
}

// New returns a Service over m. signer may be nil: then only self-signed
// labels can be created. A nil logger discards.
func New(m *keys.Manager, signer Signer, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{keys: m, signer: signer, log: logger}
}

// scope runs the service's own calls over every group, creating in
// "default".
func scope(ctx context.Context) context.Context {
	return keys.WithAccess(ctx, keys.Access{Group: keys.DefaultGroup, AllGroups: true})
}

// Create generates a key pair for a new label and its certificate, signed
// by the server CA or self-signed.
func (s *Service) Create(ctx context.Context, name string, opts CreateOptions) (*Label, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	hashName, _, err := parseHash(opts.OAEPHash)
	if err != nil {
		return nil, err
	}
	bits := opts.Bits
	if bits == 0 {
		bits = DefaultBits
	}
	if bits < MinBits || bits > MaxBits || bits%8 != 0 {
		return nil, fmt.Errorf("%w: key size %d: want %d to %d bits", ErrInvalid, bits, MinBits, MaxBits)
	}
	if bits < FIPSMinBits && fips140.Enabled() {
		return nil, fmt.Errorf("%w: key size %d: FIPS mode allows RSA of %d bits or more", ErrInvalid, bits, FIPSMinBits)
	}
	if bits <= WeakBits {
		s.log.Warn("creating a weak key label: RSA-1024 is accepted only for older drives and migrated labels",
			"label", name, "bits", bits)
	}
	if !opts.SelfSigned && s.signer == nil {
		return nil, fmt.Errorf("%w: no CA to sign label %q; create it self-signed", ErrInvalid, name)
	}
	if err := s.checkFree(ctx, name); err != nil {
		return nil, err
	}
	if _, required := s.currentHSM(); opts.HSM || required {
		return s.createInHSM(ctx, name, opts, bits)
	}
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("labels: create %q: generate key: %w", name, err)
	}
	var cert *x509.Certificate
	if opts.SelfSigned {
		cert, err = selfSign(priv, name)
	} else {
		cert, err = s.signer.SignLabel(&priv.PublicKey, name)
	}
	if err != nil {
		return nil, fmt.Errorf("labels: create %q: certificate: %w", name, err)
	}
	return s.store(ctx, name, hashName, cert, priv)
}

// ImportOptions are the parameters of Import.
type ImportOptions struct {
	// CertPEM is the label's certificate (required).
	CertPEM []byte
	// KeyPEM is its private key, PEM PKCS#1 or PKCS#8; empty for a
	// partner's certificate alone.
	KeyPEM []byte
	// PKCS12 is a PKCS#12 file holding the certificate and its private
	// key, opened with Password; it replaces CertPEM and KeyPEM.
	PKCS12   []byte
	Password string
	// OAEPHash is "SHA-256" (default) or "SHA-1".
	OAEPHash string
}

// ImportCert imports a partner's certificate alone: the label can wrap data
// keys under its public key but never unwrap them.
func (s *Service) ImportCert(ctx context.Context, name string, certPEM []byte) (*Label, error) {
	return s.Import(ctx, name, ImportOptions{CertPEM: certPEM})
}

// ImportKeyPair imports a certificate with its private key (PEM, PKCS#1 or
// PKCS#8).
func (s *Service) ImportKeyPair(ctx context.Context, name string, certPEM, keyPEM []byte) (*Label, error) {
	if len(keyPEM) == 0 {
		return nil, fmt.Errorf("%w: label %q: no private key given", ErrInvalid, name)
	}
	return s.Import(ctx, name, ImportOptions{CertPEM: certPEM, KeyPEM: keyPEM})
}

// ImportPKCS12 imports a certificate with its private key from a PKCS#12
// file.
func (s *Service) ImportPKCS12(ctx context.Context, name string, p12 []byte, password string) (*Label, error) {
	return s.Import(ctx, name, ImportOptions{PKCS12: p12, Password: password})
}

// Import imports a label's certificate, with its private key when
// opts.KeyPEM or opts.PKCS12 gives one.
func (s *Service) Import(ctx context.Context, name string, opts ImportOptions) (*Label, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	hashName, _, err := parseHash(opts.OAEPHash)
	if err != nil {
		return nil, err
	}
	var (
		cert *x509.Certificate
		priv *rsa.PrivateKey
	)
	switch {
	case len(opts.PKCS12) > 0 && (len(opts.CertPEM) > 0 || len(opts.KeyPEM) > 0):
		return nil, fmt.Errorf("%w: give a PKCS#12 file or PEM files, not both", ErrInvalid)
	case len(opts.PKCS12) > 0:
		if priv, cert, err = parsePKCS12(opts.PKCS12, opts.Password); err != nil {
			return nil, err
		}
	default:
		if cert, err = parseCertPEM(opts.CertPEM); err != nil {
			return nil, err
		}
		if len(opts.KeyPEM) > 0 {
			if priv, err = parseKeyPEM(opts.KeyPEM); err != nil {
				return nil, err
			}
		}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: label certificate: the public key is not RSA", ErrInvalid)
	}
	if b := pub.N.BitLen(); b < MinBits || b > MaxBits {
		return nil, fmt.Errorf("%w: label certificate: RSA key of %d bits: want %d to %d", ErrInvalid, b, MinBits, MaxBits)
	}
	if b := pub.N.BitLen(); b < FIPSMinBits && fips140.Enabled() {
		return nil, fmt.Errorf("%w: label certificate: RSA key of %d bits: FIPS mode allows %d bits or more", ErrInvalid, b, FIPSMinBits)
	}
	if _, required := s.currentHSM(); required && priv != nil {
		return nil, fmt.Errorf("%w: label %q: import the certificate alone, or create the label in the HSM", ErrHardwareRequired, name)
	}
	if priv != nil && !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("%w: the private key does not match the certificate", ErrInvalid)
	}
	if pub.N.BitLen() <= WeakBits {
		s.log.Warn("importing a weak key label: RSA-1024", "label", name)
	}
	if err := s.checkFree(ctx, name); err != nil {
		return nil, err
	}
	return s.store(ctx, name, hashName, cert, priv)
}

// checkFree returns ErrExists when a label is named name.
func (s *Service) checkFree(ctx context.Context, name string) error {
	_, _, err := s.find(ctx, name)
	switch {
	case err == nil:
		return fmt.Errorf("%w: %q", ErrExists, name)
	case errors.Is(err, ErrNotFound):
		return nil
	}
	return err
}

// selfSign makes a certificate for priv signed by itself (an RSA key in
// memory or in a token).
func selfSign(priv crypto.Signer, name string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: name, OrganizationalUnit: []string{"key label"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(selfSignedValidity),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("self-sign: %w", err)
	}
	return x509.ParseCertificate(der)
}

// store registers the label's objects, links them and activates them.
// extra are more attributes of the certificate (an HSM key's reference).
func (s *Service) store(ctx context.Context, name, hashName string, cert *x509.Certificate, priv *rsa.PrivateKey, extra ...kmip.Attribute) (*Label, error) {
	ctx = scope(ctx)
	pub := cert.PublicKey.(*rsa.PublicKey)
	keyHash, err := eedk.KeyHash(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: label %q: public key: %v", ErrInvalid, name, err)
	}
	bits := int32(pub.N.BitLen())
	nameAttr := kmip.Attribute{AttributeName: kmip.AttributeNameName,
		AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}}
	usage := func(m kmip.CryptographicUsageMask) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: m}
	}
	link := func(t kmip.LinkType, id string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameLink,
			AttributeValue: kmip.Link{LinkType: t, LinkedObjectIdentifier: id}}
	}
	var ids []string
	fail := func(step string, err error) (*Label, error) {
		s.log.Error("label creation failed; objects left behind", "label", name, "step", step, "ids", ids)
		return nil, fmt.Errorf("labels: store %q: %s: %w", name, step, err)
	}

	certObj, err := s.registerClaiming(ctx, name, cert,
		append([]kmip.Attribute{nameAttr,
			customAttr(attrOAEPHash, hashName), customAttr(attrKeyHash, keyHash)}, extra...))
	if errors.Is(err, ErrExists) {
		return nil, err
	}
	if err != nil {
		return fail("register certificate", err)
	}
	ids = append(ids, certObj.ID)
	pubObj, err := s.keys.Register(ctx, kmip.ObjectTypePublicKey,
		&kmip.PublicKey{KeyBlock: pkcs1Block(x509.MarshalPKCS1PublicKey(pub), bits)},
		[]kmip.Attribute{nameAttr, usage(kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageEncrypt),
			link(kmip.LinkTypeCertificateLink, certObj.ID)})
	if err != nil {
		return fail("register public key", err)
	}
	ids = append(ids, pubObj.ID)
	lb := &Label{Name: name, Bits: int(bits), OAEPHash: hashName, KeyHash: keyHash,
		Subject: cert.Subject.String(), NotAfter: cert.NotAfter,
		CertificateID: certObj.ID, PublicKeyID: pubObj.ID}
	if _, err := s.keys.AddAttribute(ctx, certObj.ID, link(kmip.LinkTypePublicKeyLink, pubObj.ID)); err != nil {
		return fail("link certificate", err)
	}
	if priv != nil {
		privObj, err := s.keys.Register(ctx, kmip.ObjectTypePrivateKey,
			&kmip.PrivateKey{KeyBlock: pkcs1Block(x509.MarshalPKCS1PrivateKey(priv), bits)},
			[]kmip.Attribute{nameAttr, usage(kmip.CryptographicUsageUnwrapKey | kmip.CryptographicUsageDecrypt),
				{AttributeName: kmip.AttributeNameExtractable, AttributeValue: false},
				link(kmip.LinkTypePublicKeyLink, pubObj.ID), link(kmip.LinkTypeCertificateLink, certObj.ID)})
		if err != nil {
			return fail("register private key", err)
		}
		ids = append(ids, privObj.ID)
		if _, err := s.keys.AddAttribute(ctx, pubObj.ID, link(kmip.LinkTypePrivateKeyLink, privObj.ID)); err != nil {
			return fail("link public key", err)
		}
		lb.PrivateKeyID, lb.HasPrivateKey = privObj.ID, true
	}
	for _, id := range ids {
		if err := s.keys.Activate(ctx, id); err != nil {
			return fail("activate", err)
		}
	}
	s.log.Info("key label stored", "label", name, "bits", bits, "oaep_hash", hashName,
		"private_key", lb.HasPrivateKey, "key_hash", keyHash)
	return lb, nil
}

// pkcs1Block is an RSA key block in PKCS#1 format, as keys.Manager stores
// the key pairs it generates.
func pkcs1Block(der []byte, bits int32) kmip.KeyBlock {
	return kmip.KeyBlock{
		KeyFormatType:          kmip.KeyFormatTypePKCS_1,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &der}}},
		CryptographicAlgorithm: kmip.CryptographicAlgorithmRSA,
		CryptographicLength:    bits,
	}
}
