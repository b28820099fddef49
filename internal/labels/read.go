package labels

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// Get returns the label named name.
func (s *Service) Get(ctx context.Context, name string) (*Label, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	lb, _, err := s.find(ctx, name)
	return lb, err
}

// ByKeyHash returns the label whose public key has the hex SHA-256 hash
// (encoding H of an EEDK).
func (s *Service) ByKeyHash(ctx context.Context, hash string) (*Label, error) {
	ctx = scope(ctx)
	ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeCertificate},
		customAttr(attrKeyHash, hash),
	}})
	if err != nil {
		return nil, fmt.Errorf("labels: find key hash %q: %w", hash, err)
	}
	for _, id := range ids {
		lb, _, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if lb != nil && lb.KeyHash == hash {
			return lb, nil
		}
	}
	return nil, fmt.Errorf("%w: no label has key hash %q", ErrNotFound, hash)
}

// List returns every label, in creation order.
func (s *Service) List(ctx context.Context) ([]Label, error) {
	ctx = scope(ctx)
	ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeCertificate},
	}})
	if err != nil {
		return nil, fmt.Errorf("labels: list: %w", err)
	}
	out := []Label{}
	for _, id := range ids {
		lb, _, err := s.load(ctx, id)
		if err != nil {
			if errors.Is(err, keys.ErrNotFound) {
				continue // destroyed or archived meanwhile
			}
			return nil, err
		}
		if lb != nil {
			out = append(out, *lb)
		}
	}
	return out, nil
}

// ExportCert returns the label's certificate in PEM.
func (s *Service) ExportCert(ctx context.Context, name string) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	_, cert, err := s.find(ctx, name)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), nil
}

// PublicKey returns the label's public key and OAEP hash, to wrap data keys.
func (s *Service) PublicKey(ctx context.Context, name string) (*rsa.PublicKey, crypto.Hash, error) {
	lb, cert, err := s.find(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	_, h, err := parseHash(lb.OAEPHash)
	if err != nil {
		return nil, 0, err
	}
	return cert.PublicKey.(*rsa.PublicKey), h, nil
}

// Decrypter returns the label's private key and OAEP hash, to unwrap data
// keys. A partner's label (or one whose private key was destroyed) gives
// ErrNoPrivateKey. The key is used in the server only (ExportPrivateKey is
// the administrator's audited way out).
func (s *Service) Decrypter(ctx context.Context, name string) (crypto.Decrypter, crypto.Hash, error) {
	lb, _, err := s.find(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	_, h, err := parseHash(lb.OAEPHash)
	if err != nil {
		return nil, 0, err
	}
	if lb.HSM {
		dec, err := s.hsmDecrypter(lb)
		if err != nil {
			return nil, 0, err
		}
		return dec, h, nil
	}
	priv, err := s.privateKey(ctx, lb)
	if err != nil {
		return nil, 0, err
	}
	return priv, h, nil
}

// find returns the label named name with its certificate.
func (s *Service) find(ctx context.Context, name string) (*Label, *x509.Certificate, error) {
	ctx = scope(ctx)
	ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeCertificate},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}})
	if err != nil {
		return nil, nil, fmt.Errorf("labels: find %q: %w", name, err)
	}
	for _, id := range ids {
		lb, cert, err := s.load(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if lb != nil && lb.Name == name {
			return lb, cert, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: %q", ErrNotFound, name)
}

// load builds the label whose certificate is object id, or returns nil when
// the certificate is not a label's (a KMIP client's own certificate).
func (s *Service) load(ctx context.Context, id string) (*Label, *x509.Certificate, error) {
	o, err := s.keys.Get(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("labels: load %s: %w", id, err)
	}
	hashV, ok := o.Attr(attrOAEPHash)
	if !ok {
		return nil, nil, nil
	}
	c, ok := o.Value.(*kmip.Certificate)
	if !ok || c == nil {
		return nil, nil, nil
	}
	cert, err := x509.ParseCertificate(c.CertificateValue)
	if err != nil {
		return nil, nil, fmt.Errorf("labels: certificate %s: %w", id, keys.ErrCorrupted)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, nil
	}
	lb := &Label{Bits: pub.N.BitLen(), Subject: cert.Subject.String(), NotAfter: cert.NotAfter, CertificateID: id}
	lb.OAEPHash = customString(hashV)
	if v, ok := o.Attr(attrKeyHash); ok {
		lb.KeyHash = customString(v)
	}
	if v, ok := o.Attr(kmip.AttributeNameName); ok {
		n, _ := v.(kmip.Name)
		lb.Name = n.NameValue
	}
	if v, ok := o.Attr(attrHSMKeyID); ok {
		lb.HSM, lb.HSMKeyID, lb.HasPrivateKey = true, customString(v), true
		if t, ok := o.Attr(attrHSMToken); ok {
			lb.HSMToken = customString(t)
		}
	}
	lb.PublicKeyID = linked(o, kmip.LinkTypePublicKeyLink)
	if lb.PublicKeyID != "" {
		po, err := s.keys.Get(ctx, lb.PublicKeyID)
		if err != nil && !errors.Is(err, keys.ErrNotFound) {
			return nil, nil, fmt.Errorf("labels: public key %s: %w", lb.PublicKeyID, err)
		}
		if po != nil {
			lb.PrivateKeyID = linked(po, kmip.LinkTypePrivateKeyLink)
		}
	}
	if lb.PrivateKeyID != "" {
		pr, err := s.keys.Get(ctx, lb.PrivateKeyID)
		if err != nil && !errors.Is(err, keys.ErrNotFound) {
			return nil, nil, fmt.Errorf("labels: private key %s: %w", lb.PrivateKeyID, err)
		}
		lb.HasPrivateKey = pr != nil && pr.Value != nil
	}
	return lb, cert, nil
}

// linked returns the id of o's first link of type t.
func linked(o *keys.Object, t kmip.LinkType) string {
	for _, v := range o.AttrAll(kmip.AttributeNameLink) {
		if l, ok := v.(kmip.Link); ok && l.LinkType == t {
			return l.LinkedObjectIdentifier
		}
	}
	return ""
}

// keyBytes returns the raw key material of a plain key block.
func keyBytes(kb kmip.KeyBlock) []byte {
	if kb.KeyValue == nil || kb.KeyValue.Plain == nil || kb.KeyValue.Plain.KeyMaterial.Bytes == nil {
		return nil
	}
	return *kb.KeyValue.Plain.KeyMaterial.Bytes
}

// parseCertPEM parses exactly one PEM certificate.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: label certificate: no PEM CERTIFICATE block", ErrInvalid)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("%w: label certificate: more than one PEM block", ErrInvalid)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: label certificate: %v", ErrInvalid, err)
	}
	return cert, nil
}

// parseKeyPEM parses an RSA private key in PEM, PKCS#1 or PKCS#8. Parse
// errors never quote the key.
func parseKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: private key: no PEM block", ErrInvalid)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: not a valid PKCS#1 RSA key", ErrInvalid)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: not a valid PKCS#8 key", ErrInvalid)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private key: not an RSA key", ErrInvalid)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("%w: private key: PEM block %q: want RSA PRIVATE KEY or PRIVATE KEY", ErrInvalid, block.Type)
}
