package kmip

import (
	"context"
	"crypto/x509"
	"slices"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/dsakey"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// KMIP 2.x defines attributes that no 1.x version has: the server derives
// them for 2.x clients only (Get Attributes, Get Attribute List), so a 1.x
// client never receives one. Inside the server they travel under the names
// of kmip2.Derived until the answer is translated to 2.x tags.

// wrapV2 adds the 2.x-only operations to the table and makes the attribute
// reads add the derived 2.x attributes when the client speaks 2.x.
func (r *Router) wrapV2() {
	for op, f := range r.operations2() {
		r.ops[op] = f
	}
	if f, ok := r.ops[kmip.OperationGetAttributes]; ok {
		r.ops[kmip.OperationGetAttributes] = r.withDerived(f)
	}
	if f, ok := r.ops[kmip.OperationGetAttributeList]; ok {
		r.ops[kmip.OperationGetAttributeList] = r.withDerived(f)
	}
	r.v2Checks()
	r.chainData()
	r.refuseUntranslated()
}

// withDerived wraps Get Attributes or Get Attribute List.
func (r *Router) withDerived(f opFunc) opFunc {
	return func(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
		out, err := f(ctx, b, p)
		if err != nil || b.v2 == nil {
			return out, err
		}
		switch resp := out.(type) {
		case *payloads.GetAttributesResponsePayload:
			o, err := r.m.Get(ctx, resp.UniqueIdentifier)
			if err != nil {
				return nil, err
			}
			resp.Attribute = append(resp.Attribute, derivedAttrs(o)...)
		case *payloads.GetAttributeListResponsePayload:
			o, err := r.m.Get(ctx, resp.UniqueIdentifier)
			if err != nil {
				return nil, err
			}
			for _, a := range derivedAttrs(o) {
				if !slices.Contains(resp.AttributeName, a.AttributeName) {
					resp.AttributeName = append(resp.AttributeName, a.AttributeName)
				}
			}
		}
		return out, nil
	}
}

// derivedAttrs are the 2.x-only attributes of an object: its Short Unique
// Identifier, its Protection Storage Mask (software: where keywarden keeps
// every object) and, for a key, the Key Format Type it is stored in.
func derivedAttrs(o *keys.Object) []kmip.Attribute {
	out := []kmip.Attribute{
		{AttributeName: kmip2.AttrShortUniqueIdentifier, AttributeValue: kmip2.ShortUniqueIdentifier(o.ID)},
		{AttributeName: kmip2.AttrProtectionStorageMask, AttributeValue: kmip2.ProtectionStorageMaskSoftware},
	}
	if f, ok := storedKeyFormat(o.Value); ok {
		out = append(out, kmip.Attribute{AttributeName: kmip2.AttrKeyFormatType, AttributeValue: f})
	}
	if c, ok := o.Value.(*kmip.Certificate); ok && c.CertificateType == kmip.CertificateTypeX_509 {
		out = append(out, certificateAttrs(c.CertificateValue)...)
	}
	return out
}

// certificateAttrs are the 2.x subject and issuer attributes of a DER
// X.509 certificate; none when it does not parse.
func certificateAttrs(der []byte) []kmip.Attribute {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	var out []kmip.Attribute
	add := func(name kmip.AttributeName, values ...string) {
		for _, v := range values {
			if v != "" {
				out = append(out, kmip.Attribute{AttributeName: name, AttributeValue: v})
			}
		}
	}
	s, i := cert.Subject, cert.Issuer
	add(kmip2.AttrCertificateSubjectCN, s.CommonName)
	add(kmip2.AttrCertificateSubjectO, s.Organization...)
	add(kmip2.AttrCertificateSubjectOU, s.OrganizationalUnit...)
	add(kmip2.AttrCertificateSubjectC, s.Country...)
	add(kmip2.AttrCertificateSubjectST, s.Province...)
	add(kmip2.AttrCertificateSubjectL, s.Locality...)
	add(kmip2.AttrCertificateIssuerCN, i.CommonName)
	add(kmip2.AttrCertificateIssuerO, i.Organization...)
	add(kmip2.AttrCertificateIssuerOU, i.OrganizationalUnit...)
	add(kmip2.AttrCertificateIssuerC, i.Country...)
	add(kmip2.AttrCertificateIssuerST, i.Province...)
	add(kmip2.AttrCertificateIssuerL, i.Locality...)
	return out
}

// storedKeyFormat is the Key Format Type of a key object's block.
func storedKeyFormat(v kmip.Object) (kmip.KeyFormatType, bool) {
	kb := keys.KeyBlockOf(v)
	if kb == nil {
		return 0, false
	}
	if f := dsakey.RegisteredFormat(kb); f != 0 {
		return f, true // the format a Get without Key Format Type serves (dsa.go)
	}
	return kb.KeyFormatType, true
}
