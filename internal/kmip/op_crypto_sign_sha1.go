package kmip

import (
	"crypto/fips140"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// sha1PSSAllowed reports whether Sign may hash with SHA-1: only for
// RSASSA-PSS with an RSA key, as clients such as PyKMIP's demos ask, and
// never in FIPS 140-3 mode, where SHA-1 signature generation is not
// approved (NIST SP 800-131A Rev. 2). PKCS#1 v1.5 and ECDSA signatures
// over SHA-1 stay refused.
func sha1PSSAllowed(p kmip.CryptographicParameters, o *keys.Object) bool {
	if fips140.Enabled() || algorithmOf(o) != kmip.CryptographicAlgorithmRSA {
		return false
	}
	switch p.DigitalSignatureAlgorithm {
	case kmip.DigitalSignatureAlgorithmRSASSA_PSS:
		return true
	case 0:
		return p.PaddingMethod == kmip.PaddingMethodPSS
	}
	return false
}
