package kmip2

import (
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// The KMIP 2.x fields of Certify and Re-certify that 1.x names otherwise.
const (
	// TagCertificateRequestUniqueIdentifier names a stored Certificate
	// Request object (2.x).
	TagCertificateRequestUniqueIdentifier = 0x420139
	// TagCertificateRequestValue is the 2.x name of the 1.x Certificate
	// Request.
	TagCertificateRequestValue = 0x420140
)

// certifyRequest rewrites a 2.x Certify or Re-certify request: the
// Certificate Request Value becomes the 1.x Certificate Request and the
// Attributes a Template-Attribute (the Protection Storage Masks are
// checked). A Certificate Request Unique Identifier names a stored
// certificate request object, which keywarden does not keep: refused.
func certifyRequest(p ttlv.Struct) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	for _, v := range p {
		switch v.Tag {
		case TagCertificateRequestUniqueIdentifier:
			return nil, fmt.Errorf("%w: certificate request objects are not kept; send the Certificate Request Value", ErrNotSupported)
		case TagCertificateRequestValue:
			v.Tag = kmip.TagCertificateRequest
		}
		out = append(out, v)
	}
	return templates(out, map[int]int{TagAttributes: kmip.TagTemplateAttribute}, TagProtectionStorageMasks)
}
