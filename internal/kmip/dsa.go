package kmip

import (
	"errors"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/dsakey"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// DSA keys. ovh/kmip-go v0.8.1 can neither decode nor encode the Transparent DSA
// Public and Private Key formats. Before the decoder runs, a request's
// Transparent DSA key blocks become X.509 / PKCS#8 key blocks marked with
// the format the client used (dsakey.RewriteRequest); that is what Register
// stores, sealed like any value. Get serves such a key in the format
// registered unless the client asks for another (convertDSA).

// rewriteDSAKeys applies dsakey.RewriteRequest; a refused key fails the
// message with Invalid Field and the reason.
func rewriteDSAKeys(req []byte) ([]byte, error) {
	out, err := dsakey.RewriteRequest(req)
	if err != nil {
		var de *dsakey.Error
		if errors.As(err, &de) {
			return req, kerr(kmip.ResultReasonInvalidField, "Transparent DSA key: "+de.Reason)
		}
		return req, errInvalidMessage
	}
	return out, nil
}

// headerOnly is a request message holding only the protocol version of req,
// so that a message refused before decoding is answered in its version.
func headerOnly(req []byte) *kmip.RequestMessage {
	v, ok := kmip2.PeekVersion(req)
	if !ok {
		return nil
	}
	return &kmip.RequestMessage{Header: kmip.RequestHeader{ProtocolVersion: v}}
}

// convertDSA serves a DSA key in the format wanted: Transparent DSA or
// PKCS#8 for a private key, Transparent DSA or X.509 for a public key; no
// format (zero) is the format the key was registered in. handled is false
// when the object is not a DSA key this function serves, or when it is
// returned as stored (a DSA key registered as PKCS#8 or X.509, asked for in
// that format or none): convert then proceeds as for any key.
func convertDSA(v kmip.Object, want kmip.KeyFormatType) (out kmip.Object, handled bool, err error) {
	var kb *kmip.KeyBlock
	switch k := v.(type) {
	case *kmip.PrivateKey:
		kb = &k.KeyBlock
	case *kmip.PublicKey:
		kb = &k.KeyBlock
	default:
		return nil, false, nil
	}
	if kb.CryptographicAlgorithm != kmip.CryptographicAlgorithmDSA {
		return nil, false, nil
	}
	registered := dsakey.RegisteredFormat(kb)
	if want == 0 {
		want = registered
	}
	if want == 0 || (registered == 0 && want == kb.KeyFormatType) {
		return nil, false, nil
	}
	der, err := kb.GetBytes()
	if err != nil {
		return nil, true, errFormatNotSupported
	}
	var attrs []kmip.Attribute
	if kb.KeyValue != nil && kb.KeyValue.Plain != nil {
		attrs = dsakey.WithoutMarker(kb.KeyValue.Plain.Attribute)
	}
	switch v.(type) {
	case *kmip.PrivateKey:
		if kb.KeyFormatType != kmip.KeyFormatTypePKCS_8 {
			return nil, true, errFormatNotSupported
		}
		key, err := dsakey.ParsePKCS8(der)
		if err != nil {
			return nil, true, errFormatNotSupported
		}
		switch want {
		case kmip.KeyFormatTypeTransparentDSAPrivateKey:
			return &dsakey.PrivateKeyObject{Key: *key, Attributes: attrs}, true, nil
		case kmip.KeyFormatTypePKCS_8:
			return &kmip.PrivateKey{KeyBlock: dsaBlock(kb, want, der, attrs)}, true, nil
		}
	case *kmip.PublicKey:
		if kb.KeyFormatType != kmip.KeyFormatTypeX_509 {
			return nil, true, errFormatNotSupported
		}
		key, err := dsakey.ParsePKIX(der)
		if err != nil {
			return nil, true, errFormatNotSupported
		}
		switch want {
		case kmip.KeyFormatTypeTransparentDSAPublicKey:
			return &dsakey.PublicKeyObject{Key: *key, Attributes: attrs}, true, nil
		case kmip.KeyFormatTypeX_509:
			return &kmip.PublicKey{KeyBlock: dsaBlock(kb, want, der, attrs)}, true, nil
		}
	}
	return nil, true, errFormatNotSupported
}

// dsaBlock is a DER key block without the marker.
func dsaBlock(kb *kmip.KeyBlock, format kmip.KeyFormatType, der []byte, attrs []kmip.Attribute) kmip.KeyBlock {
	out := bytesBlock(*kb, format, der)
	out.KeyValue.Plain.Attribute = attrs
	return out
}
