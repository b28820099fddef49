package kmip

import (
	"context"
	"crypto/x509"

	"github.com/ovh/kmip-go"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/keywarden/keywarden/internal/keys"
)

// maxPKCS12Chain bounds the certificates followed through PKCS#12
// Certificate Links, so a link cycle cannot loop.
const maxPKCS12Chain = 10

var (
	errPKCS12NoPassword = kerr(kmip.ResultReasonMissingData, "PKCS#12: the private key has no PKCS#12 Password Link to a password")
	errPKCS12NoCert     = kerr(kmip.ResultReasonMissingData, "PKCS#12: the private key has no PKCS#12 Certificate Link")
	errPKCS12Link       = kerr(kmip.ResultReasonInvalidField, "PKCS#12: a linked object is not of the expected kind")
)

// pkcs12Object returns a private key as a PKCS#12 bundle (KMIP 1.4 Key
// Format Type PKCS#12): the key, the certificate its PKCS#12 Certificate
// Link names and the chain those certificates link to in turn, protected by
// the password in the Secret Data its PKCS#12 Password Link names.
func (r *Router) pkcs12Object(ctx context.Context, o *keys.Object) (kmip.Object, error) {
	k, ok := o.Value.(*kmip.PrivateKey)
	if !ok {
		return nil, errFormatNotSupported
	}
	priv, err := k.CryptoPrivateKey()
	if err != nil {
		return nil, errFormatNotSupported
	}
	password, err := r.pkcs12Password(ctx, o)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for cur := o; len(chain) < maxPKCS12Chain; {
		id, ok := linkTarget(cur, kmip.LinkTypePKCS_12CertificateLink)
		if !ok {
			break
		}
		next, err := r.m.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		c, ok := next.Value.(*kmip.Certificate)
		if !ok {
			return nil, errPKCS12Link
		}
		cert, err := x509.ParseCertificate(c.CertificateValue)
		if err != nil {
			return nil, errPKCS12Link
		}
		chain, cur = append(chain, cert), next
	}
	if len(chain) == 0 {
		return nil, errPKCS12NoCert
	}
	pfx, err := pkcs12.Modern.Encode(priv, chain[0], chain[1:], password)
	if err != nil {
		return nil, errFormatNotSupported
	}
	return &kmip.PrivateKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypePKCS_12,
		KeyValue:      &kmip.KeyValue{Wrapped: &pfx},
	}}, nil
}

// pkcs12Password returns the password held by the Secret Data the object's
// PKCS#12 Password Link names.
func (r *Router) pkcs12Password(ctx context.Context, o *keys.Object) (string, error) {
	id, ok := linkTarget(o, kmip.LinkTypePKCS_12PasswordLink)
	if !ok {
		return "", errPKCS12NoPassword
	}
	p, err := r.m.Get(ctx, id)
	if err != nil {
		return "", err
	}
	s, ok := p.Value.(*kmip.SecretData)
	if !ok {
		return "", errPKCS12Link
	}
	b, err := s.KeyBlock.GetBytes()
	if err != nil {
		return "", errPKCS12Link
	}
	return string(b), nil
}

// linkTarget returns the object the first Link of the given type names.
func linkTarget(o *keys.Object, typ kmip.LinkType) (string, bool) {
	for _, a := range o.Attrs {
		if l, ok := a.AttributeValue.(kmip.Link); ok && a.AttributeName == kmip.AttributeNameLink && l.LinkType == typ {
			return l.LinkedObjectIdentifier, true
		}
	}
	return "", false
}
