package keys

import (
	"crypto/sha256"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// digestOf computes the Digest attribute: SHA-256 over the key material in
// the format the object holds it (KMIP 1.x §3.17): the byte string of a Raw,
// PKCS#1, PKCS#8 or X.509 key, the TTLV encoding of the Key Material
// structure of a Transparent key; or the certificate or opaque data value.
func digestOf(v kmip.Object) (kmip.Digest, bool) {
	var data []byte
	format := kmip.KeyFormatType(0)
	switch k := v.(type) {
	case *kmip.Certificate:
		data = k.CertificateValue
	case *kmip.OpaqueObject:
		data = k.OpaqueDataValue
	default:
		kb := KeyBlockOf(v)
		if kb == nil {
			return kmip.Digest{}, false
		}
		b, ok := digestInput(kb)
		if !ok {
			return kmip.Digest{}, false
		}
		data, format = b, kb.KeyFormatType
	}
	sum := sha256.Sum256(data)
	return kmip.Digest{HashingAlgorithm: kmip.HashingAlgorithmSHA_256, DigestValue: sum[:], KeyFormatType: format}, true
}

// digestInput returns the bytes a key block's digest is computed over, or
// false when the block holds no plain key material (encrypted or absent).
func digestInput(kb *kmip.KeyBlock) ([]byte, bool) {
	mat, err := kb.GetMaterial()
	if err != nil {
		return nil, false
	}
	if mat.Bytes != nil {
		return *mat.Bytes, true
	}
	if !hasTransparent(mat) {
		return nil, false
	}
	enc := ttlv.NewTTLVEncoder()
	enc.TagAny(kmip.TagKeyMaterial, &mat)
	return enc.Bytes(), true
}

// hasTransparent reports whether key material holds a Transparent structure.
func hasTransparent(m kmip.KeyMaterial) bool {
	return m.TransparentSymmetricKey != nil || m.TransparentRSAPrivateKey != nil ||
		m.TransparentRSAPublicKey != nil || m.TransparentECDSAPrivateKey != nil ||
		m.TransparentECDSAPublicKey != nil || m.TransparentECPrivateKey != nil ||
		m.TransparentECPublicKey != nil
}
