package wire

import (
	"errors"
	"testing"
)

// Tags of the Register request shapes below.
const (
	tagObjectType        = 0x420057
	tagTemplateAttribute = 0x420091
	tagPublicKey         = 0x42006D
	tagPrivateKey        = 0x420064
	tagModulus           = 0x420052
	tagPrivateExponent   = 0x420063
	tagRecommendedCurve  = 0x420075
)

// registerKey builds a Register request for a key object whose Key Block
// has the given Key Format Type and Key Material children.
func registerKey(objType, objTag, format uint32, material ...[]byte) []byte {
	return handRequest(0x03, enum(tagObjectType, objType), structure(tagTemplateAttribute),
		structure(objTag, structure(tagKeyBlock, enum(tagKeyFormatType, format),
			structure(tagKeyValue, structure(tagKeyMaterial, material...)))))
}

// ovhFindings are well-formed TTLV messages that crash the ovh/kmip-go
// v0.8.1 decoder (decoding into kmip.RequestMessage): its BigInteger reader
// neither checks tag nor type, and panics on an empty value or at the end
// of a structure. The field rules of fields.go refuse each of them.
func ovhFindings() map[string][]byte {
	bigint := item(tagModulus, TypeBigInteger, []byte{0, 0, 0, 0, 0, 1, 0, 1})
	return map[string][]byte{
		// Transparent RSA Public Key with no Modulus: read past the end.
		"rsa_public_empty_material": registerKey(3, tagPublicKey, 0x0B),
		// Modulus position holds an empty Byte String: nil big.Int dereferenced.
		"rsa_public_empty_bytes": registerKey(3, tagPublicKey, 0x0B,
			item(tagUniqueIdentifier, TypeByteString, nil), item(tagUniqueIdentifier, TypeByteString, nil)),
		// Public Exponent missing after the Modulus.
		"rsa_public_no_exponent": registerKey(3, tagPublicKey, 0x0B, bigint),
		// Private Exponent tag with an empty Text String.
		"rsa_private_exponent_text": registerKey(4, tagPrivateKey, 0x0A,
			bigint, item(tagPrivateExponent, TypeTextString, nil)),
		// Transparent EC Private Key without D.
		"ec_private_no_d": registerKey(4, tagPrivateKey, 0x14, enum(tagRecommendedCurve, 3)),
		// Transparent ECDSA Private Key whose D is an empty structure.
		"ecdsa_private_d_structure": registerKey(4, tagPrivateKey, 0x0E,
			enum(tagRecommendedCurve, 3), structure(0x42002E)),
	}
}

func TestOvhDecoderFindings(t *testing.T) {
	for name, msg := range ovhFindings() {
		t.Run(name, func(t *testing.T) {
			if _, err := Walk(msg, Limits{}, nil); err != nil {
				t.Fatalf("message should be well-formed TTLV, Walk: %v", err)
			}
			_, err := Validate(msg, Limits{})
			if !errors.Is(err, ErrBadField) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrBadField", err)
			}
			// Walk alone accepts it, and it is a real crash of the decoder
			// that the field rules exist for.
			if err := decodeAndEncode(msg); err == nil {
				t.Logf("ovh no longer panics on %s; the rule may be relaxed", name)
			}
		})
	}
}

func TestFieldRulesAcceptValidKeys(t *testing.T) {
	bigint := item(tagModulus, TypeBigInteger, []byte{0, 0, 0, 0, 0, 1, 0, 1})
	exp := item(0x42006C, TypeBigInteger, []byte{0, 0, 0, 0, 0, 1, 0, 1})
	tests := map[string][]byte{
		"rsa_public":          registerKey(3, tagPublicKey, 0x0B, bigint, exp),
		"rsa_private_modulus": registerKey(4, tagPrivateKey, 0x0A, bigint),
		"ec_private":          registerKey(4, tagPrivateKey, 0x14, enum(tagRecommendedCurve, 3), item(0x42002E, TypeBigInteger, make([]byte, 8))),
		"raw_bytes_material": handRequest(0x03, enum(tagObjectType, 2), structure(tagTemplateAttribute),
			structure(0x42008F, structure(tagKeyBlock, enum(tagKeyFormatType, 1),
				structure(tagKeyValue, item(tagKeyMaterial, TypeByteString, make([]byte, 32)))))),
		"wrapped_key_value": handRequest(0x03, enum(tagObjectType, 2), structure(tagTemplateAttribute),
			structure(0x42008F, structure(tagKeyBlock, enum(tagKeyFormatType, 0x0B),
				item(tagKeyValue, TypeByteString, make([]byte, 40))))),
		// Outside a Key Value, a structure tagged Key Material is not a
		// transparent key and the positional rule does not apply.
		"key_material_elsewhere": handRequest(0x03, structure(tagKeyMaterial)),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Validate(msg, Limits{}); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if err := decodeAndEncode(msg); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFieldRulesKeyBlockStart(t *testing.T) {
	tests := map[string][]byte{
		"empty_key_block":       handRequest(0x03, structure(tagKeyBlock)),
		"key_block_starts_else": handRequest(0x03, structure(tagKeyBlock, integer(0x42002A, 128))),
		"format_not_enum":       handRequest(0x03, structure(tagKeyBlock, integer(tagKeyFormatType, 1))),
		"bigint_tag_as_integer": handRequest(0x03, integer(tagModulus, 7)),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Validate(msg, Limits{}); !errors.Is(err, ErrBadField) {
				t.Fatalf("Validate = %v, want ErrBadField", err)
			}
		})
	}
}
