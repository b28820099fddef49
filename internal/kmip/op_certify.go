package kmip

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/pki"
)

func init() {
	kmip.RegisterOperationPayload[CertifyRequestPayload, CertifyResponsePayload](kmip.OperationCertify)
	kmip.RegisterOperationPayload[ReCertifyRequestPayload, ReCertifyResponsePayload](kmip.OperationReCertify)
}

// CertifyRequestPayload is the request of Certify (KMIP 1.x §4.7), which
// ovh/kmip-go lacks.
type CertifyRequestPayload struct {
	UniqueIdentifier       string                      `ttlv:",omitempty"`
	CertificateRequestType kmip.CertificateRequestType `ttlv:",omitempty"`
	CertificateRequest     []byte                      `ttlv:",omitempty"`
	TemplateAttribute      *kmip.TemplateAttribute
}

// Operation returns Certify.
func (*CertifyRequestPayload) Operation() kmip.Operation { return kmip.OperationCertify }

// CertifyResponsePayload is the response of Certify.
type CertifyResponsePayload struct {
	UniqueIdentifier  string
	TemplateAttribute *kmip.TemplateAttribute
}

// Operation returns Certify.
func (*CertifyResponsePayload) Operation() kmip.Operation { return kmip.OperationCertify }

// ReCertifyRequestPayload is the request of Re-certify (KMIP 1.x §4.8).
type ReCertifyRequestPayload struct {
	UniqueIdentifier       string                      `ttlv:",omitempty"`
	CertificateRequestType kmip.CertificateRequestType `ttlv:",omitempty"`
	CertificateRequest     []byte                      `ttlv:",omitempty"`
	Offset                 *time.Duration
	TemplateAttribute      *kmip.TemplateAttribute
}

// Operation returns Re-certify.
func (*ReCertifyRequestPayload) Operation() kmip.Operation { return kmip.OperationReCertify }

// ReCertifyResponsePayload is the response of Re-certify.
type ReCertifyResponsePayload struct {
	UniqueIdentifier  string
	TemplateAttribute *kmip.TemplateAttribute
}

// Operation returns Re-certify.
func (*ReCertifyResponsePayload) Operation() kmip.Operation { return kmip.OperationReCertify }

// CertIssuer issues X.509 certificates with the server's CA for Certify
// and Re-certify; pki.CertIssuer implements it.
type CertIssuer interface {
	Issue(req pki.CertRequest) ([]byte, error)
	CACertificate() (*x509.Certificate, error)
}

// WithCertIssuer lets Certify and Re-certify issue certificates with ci.
// Without one they answer Operation Failed / Feature Not Supported.
func WithCertIssuer(ci CertIssuer) RouterOption { return func(r *Router) { r.certs = ci } }

var (
	errNoCA       = kerr(kmip.ResultReasonFeatureNotSupported, "this server has no certificate authority for Certify")
	errNotPubKey  = kerr(kmip.ResultReasonInvalidField, "Certify certifies a public key (or the public key of a private key)")
	errNotCert    = kerr(kmip.ResultReasonInvalidField, "Re-certify replaces a certificate")
	errCARefused  = kerr(kmip.ResultReasonInvalidField, "the certificate authority refused the request")
	errOldCertKey = kerr(kmip.ResultReasonInvalidField, "the certificate's public key cannot be found")
)

// certify answers Certify: the server's CA issues an X.509 certificate for
// the public key the request names (Unique Identifier or ID placeholder; a
// private key stands for its linked public key) or, without one, for the
// key of the certificate request. The new Certificate object becomes the
// ID placeholder.
func (r *Router) certify(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*CertifyRequestPayload)
	if r.certs == nil {
		return nil, errNoCA
	}
	csr, err := optionalCSR(req.CertificateRequestType, req.CertificateRequest)
	if err != nil {
		return nil, err
	}
	subj, attrs, err := r.certifyTemplate(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	id := req.UniqueIdentifier
	if id == "" {
		id = b.placeholder
	}
	var (
		pubID string
		pub   crypto.PublicKey
		mask  kmip.CryptographicUsageMask
	)
	if id != "" {
		key, err := r.publicKeyFor(ctx, id)
		if err != nil {
			return nil, err
		}
		pubID, mask = key.ID, usageMask(key.Attrs)
		if pub, err = verifyingKey(key); err != nil {
			return nil, err
		}
	} else {
		mask = usageMask(attrs)
	}
	if csr != nil {
		if pub != nil && !samePublicKey(pub, csr.PublicKey) {
			return nil, errCSRKey
		}
		pub = csr.PublicKey
	}
	if pub == nil {
		return nil, errNothingToSig
	}
	creq := pki.CertRequest{PublicKey: pub, KeyUsage: keyUsage(mask)}
	fromCSR(&creq, csr)
	subj.apply(&creq)
	if len(creq.RawSubject) == 0 {
		return nil, errNoSubject
	}
	tmp := &keys.Object{Attrs: attrs}
	creq.NotBefore, _ = tmp.Date(kmip.AttributeNameActivationDate)
	creq.NotAfter, _ = tmp.Date(kmip.AttributeNameDeactivationDate)
	der, err := r.issue(creq)
	if err != nil {
		return nil, err
	}
	o, err := r.m.Certify(ctx, pubID, &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: der}, attrs)
	if err != nil {
		return nil, err
	}
	b.obj = o
	b.placeholder = o.ID
	return &CertifyResponsePayload{UniqueIdentifier: o.ID}, nil
}

// reCertify answers Re-certify: a new certificate from the server's CA for
// the public key of an existing certificate (its Public Key Link, else the
// key inside it), with the subject of the certificate request, else of the
// template, else of the old certificate, and a validity as long as the old
// one's, starting now (or now+Offset). The new certificate becomes the ID
// placeholder.
func (r *Router) reCertify(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*ReCertifyRequestPayload)
	if r.certs == nil {
		return nil, errNoCA
	}
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	csr, err := optionalCSR(req.CertificateRequestType, req.CertificateRequest)
	if err != nil {
		return nil, err
	}
	subj, attrs, err := r.certifyTemplate(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	old, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.Type != kmip.ObjectTypeCertificate {
		return nil, errNotCert
	}
	oldCert, ok := old.Value.(*kmip.Certificate)
	if !ok {
		return nil, fmt.Errorf("%w: the certificate has no value (destroyed)", keys.ErrWrongState)
	}
	prev, _ := x509.ParseCertificate(oldCert.CertificateValue) // nil when not X.509
	pub, mask, usage, err := r.recertifiedKey(ctx, old, prev)
	if err != nil {
		return nil, err
	}
	if csr != nil && !samePublicKey(pub, csr.PublicKey) {
		return nil, errCSRKey
	}
	creq := pki.CertRequest{PublicKey: pub, KeyUsage: usage}
	if mask != 0 {
		creq.KeyUsage = keyUsage(mask)
	}
	fromCSR(&creq, csr)
	subj.apply(&creq)
	if len(creq.RawSubject) == 0 && prev != nil {
		creq.RawSubject = prev.RawSubject
		creq.DNSNames, creq.EmailAddresses, creq.IPAddresses, creq.URIs = prev.DNSNames, prev.EmailAddresses, prev.IPAddresses, prev.URIs
	}
	if len(creq.RawSubject) == 0 {
		return nil, errNoSubject
	}
	if req.Offset != nil {
		creq.NotBefore = r.m.Now().Add(*req.Offset)
	}
	if prev != nil {
		start := creq.NotBefore
		if start.IsZero() {
			start = r.m.Now()
		}
		creq.NotAfter = start.Add(prev.NotAfter.Sub(prev.NotBefore))
	}
	der, err := r.issue(creq)
	if err != nil {
		return nil, err
	}
	o, err := r.m.ReCertify(ctx, id, &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: der}, req.Offset, attrs)
	if err != nil {
		return nil, err
	}
	b.obj = o
	b.placeholder = o.ID
	return &ReCertifyResponsePayload{UniqueIdentifier: o.ID}, nil
}

// optionalCSR parses a certificate request when the payload has one.
func optionalCSR(typ kmip.CertificateRequestType, data []byte) (*x509.CertificateRequest, error) {
	if len(data) == 0 && typ == 0 {
		return nil, nil
	}
	if len(data) == 0 {
		return nil, kerr(kmip.ResultReasonMissingData, "certificate request type without a certificate request")
	}
	return parseCSR(typ, data)
}

// fromCSR takes the subject and names of a certificate request.
func fromCSR(req *pki.CertRequest, csr *x509.CertificateRequest) {
	if csr == nil {
		return
	}
	req.RawSubject = csr.RawSubject
	req.DNSNames, req.EmailAddresses, req.IPAddresses, req.URIs = csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs
}

// certifyTemplate resolves the template and takes out the subject and
// issuer attributes, which describe the certificate to issue; an issuer
// must be this server's CA.
func (r *Router) certifyTemplate(ctx context.Context, t *kmip.TemplateAttribute) (certSubject, []kmip.Attribute, error) {
	all, err := r.templateAttrs(ctx, t)
	if err != nil {
		return certSubject{}, nil, err
	}
	subj, attrs, err := splitSubject(all)
	if err != nil {
		return certSubject{}, nil, err
	}
	if subj.issuerText != "" || subj.issuerRaw != nil {
		ca, err := r.certs.CACertificate()
		if err != nil {
			return certSubject{}, nil, fmt.Errorf("kmip: certify: %w", err)
		}
		if err := subj.checkIssuer(ca); err != nil {
			return certSubject{}, nil, err
		}
	}
	return subj, attrs, nil
}

// issue has the CA sign; its refusals are the client's to fix.
func (r *Router) issue(req pki.CertRequest) ([]byte, error) {
	der, err := r.certs.Issue(req)
	if errors.Is(err, pki.ErrRefused) {
		return nil, fmt.Errorf("%w: %w", errCARefused, err)
	}
	if err != nil {
		return nil, fmt.Errorf("kmip: certify: %w", err)
	}
	return der, nil
}

// publicKeyFor returns the public key object id names: the object itself,
// or the public key a private key links to.
func (r *Router) publicKeyFor(ctx context.Context, id string) (*keys.Object, error) {
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Value == nil:
		return nil, fmt.Errorf("%w: the key has no material (destroyed)", keys.ErrWrongState)
	case o.Type == kmip.ObjectTypePublicKey:
		return o, nil
	case o.Type == kmip.ObjectTypePrivateKey:
		if pubID, ok := linkTarget(o, kmip.LinkTypePublicKeyLink); ok {
			return r.publicKeyFor(ctx, pubID)
		}
	}
	return nil, errNotPubKey
}

// recertifiedKey returns the public key a certificate certifies: that of
// its Public Key Link (with the key's usage mask), else the one inside the
// X.509 certificate (with its key usage).
func (r *Router) recertifiedKey(ctx context.Context, old *keys.Object, prev *x509.Certificate) (crypto.PublicKey, kmip.CryptographicUsageMask, x509.KeyUsage, error) {
	if pubID, ok := linkTarget(old, kmip.LinkTypePublicKeyLink); ok {
		key, err := r.m.Get(ctx, pubID)
		if err == nil && key.Type == kmip.ObjectTypePublicKey {
			pub, err := verifyingKey(key)
			if err != nil {
				return nil, 0, 0, err
			}
			return pub, usageMask(key.Attrs), 0, nil
		}
		if err != nil && !errors.Is(err, keys.ErrNotFound) {
			return nil, 0, 0, err
		}
	}
	if prev == nil {
		return nil, 0, 0, errOldCertKey
	}
	return prev.PublicKey, 0, prev.KeyUsage, nil
}

// usageMask is the Cryptographic Usage Mask among attrs, or 0.
func usageMask(attrs []kmip.Attribute) kmip.CryptographicUsageMask {
	for _, a := range attrs {
		if m, ok := a.AttributeValue.(kmip.CryptographicUsageMask); ok && a.AttributeName == kmip.AttributeNameCryptographicUsageMask {
			return m
		}
	}
	return 0
}
