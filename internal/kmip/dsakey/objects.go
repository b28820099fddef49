package dsakey

import (
	"math/big"
	"reflect"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// PublicKeyObject is a Public Key managed object in the Transparent DSA
// Public Key format, for responses: ovh's Key Material cannot encode one,
// so the object encodes itself. It is never decoded.
type PublicKeyObject struct {
	Key PublicKey
	// Attributes are the Key Value's attributes (MarkerAttribute excluded).
	Attributes []kmip.Attribute
}

// PrivateKeyObject is a Private Key managed object in the Transparent DSA
// Private Key format, for responses (see PublicKeyObject).
type PrivateKeyObject struct {
	Key        PrivateKey
	Attributes []kmip.Attribute
}

// The response encoder finds the tag of an object held in an interface
// field (Get's Object) by its type: these register the types under the
// Public Key and Private Key tags, whose names and values stay the same.
func init() {
	ttlv.RegisterTag("PublicKey", kmip.TagPublicKey, reflect.TypeFor[PublicKeyObject]())
	ttlv.RegisterTag("PrivateKey", kmip.TagPrivateKey, reflect.TypeFor[PrivateKeyObject]())
}

// ObjectType is Public Key.
func (*PublicKeyObject) ObjectType() kmip.ObjectType { return kmip.ObjectTypePublicKey }

// ObjectType is Private Key.
func (*PrivateKeyObject) ObjectType() kmip.ObjectType { return kmip.ObjectTypePrivateKey }

// TagEncodeTTLV writes the object: a Key Block of format Transparent DSA
// Public Key holding P, Q, G and Y.
func (o *PublicKeyObject) TagEncodeTTLV(e *ttlv.Encoder, tag int) {
	encodeObject(e, tag, kmip.KeyFormatTypeTransparentDSAPublicKey, o.Key.Params, kmip.TagY, o.Key.Y, o.Attributes)
}

// TagEncodeTTLV writes the object: a Key Block of format Transparent DSA
// Private Key holding P, Q, G and X.
func (o *PrivateKeyObject) TagEncodeTTLV(e *ttlv.Encoder, tag int) {
	encodeObject(e, tag, kmip.KeyFormatTypeTransparentDSAPrivateKey, o.Key.Params, kmip.TagX, o.Key.X, o.Attributes)
}

func encodeObject(e *ttlv.Encoder, tag int, format kmip.KeyFormatType, p Params, vtag int, v *big.Int, attrs []kmip.Attribute) {
	e.Struct(tag, func(e *ttlv.Encoder) {
		e.Struct(kmip.TagKeyBlock, func(e *ttlv.Encoder) {
			e.TagAny(kmip.TagKeyFormatType, format)
			e.Struct(kmip.TagKeyValue, func(e *ttlv.Encoder) {
				e.Struct(kmip.TagKeyMaterial, func(e *ttlv.Encoder) {
					e.BigInteger(kmip.TagP, p.P)
					e.BigInteger(kmip.TagQ, p.Q)
					e.BigInteger(kmip.TagG, p.G)
					e.BigInteger(vtag, v)
				})
				for i := range attrs {
					e.TagAny(kmip.TagAttribute, &attrs[i])
				}
			})
			e.TagAny(kmip.TagCryptographicAlgorithm, kmip.CryptographicAlgorithmDSA)
			e.Integer(kmip.TagCryptographicLength, p.Bits())
		})
	})
}
