package dsakey

import (
	"bytes"
	"math/big"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// MarkerAttribute is the server attribute ("y-" prefix: server-defined,
// KMIP 1.4 section 3.42) that RewriteRequest adds to the Key Value of the
// key block it rewrites. Its Enumeration value is the Key Format Type the
// client registered the key in. A request that carries it is refused, so
// only the server sets it.
const MarkerAttribute kmip.AttributeName = "y-keywarden-registered-key-format"

// maxDepth bounds the walk; deeper messages are left to the decoder, which
// refuses them.
const maxDepth = 64

// needles are the encodings whose absence lets RewriteRequest return
// quickly: the Key Format Type items of the two Transparent DSA formats, and
// the marker's name.
var needles = [][]byte{
	formatItem(kmip.KeyFormatTypeTransparentDSAPrivateKey),
	formatItem(kmip.KeyFormatTypeTransparentDSAPublicKey),
	[]byte(MarkerAttribute),
}

func formatItem(f kmip.KeyFormatType) []byte {
	return wire.EncodeLevel([]wire.Node{enumNode(kmip.TagKeyFormatType, uint32(f))})
}

// RewriteRequest rewrites every plain Transparent DSA key block of a TTLV
// message into the form the ovh decoder reads: a PKCS#8 (private key) or
// X.509 (public key) key block holding the DER encoding, Cryptographic
// Algorithm DSA, Cryptographic Length the bits of P, and MarkerAttribute in
// its Key Value. The key is validated first; a refused key, a key block
// that carries MarkerAttribute, or a Transparent DSA format outside the
// matching object is an *Error.
//
// msg is returned unchanged (the same slice) when it holds none of these or
// is not well-formed TTLV (the decoder refuses it then). A key block whose
// Key Value is absent or wrapped (a byte string) is left as it is.
func RewriteRequest(msg []byte) ([]byte, error) {
	found := false
	for _, n := range needles {
		if bytes.Contains(msg, n) {
			found = true
			break
		}
	}
	if !found {
		return msg, nil
	}
	top, ok := wire.Level(msg)
	if !ok {
		return msg, nil
	}
	changed, err := walk(top, 0, 0)
	if err != nil {
		return nil, err
	}
	if !changed {
		return msg, nil
	}
	return wire.EncodeLevel(top), nil
}

// walk rewrites the key blocks under items, whose parent has the tag parent.
func walk(items []wire.Node, parent uint32, depth int) (bool, error) {
	if depth > maxDepth {
		return false, nil
	}
	changed := false
	for i := range items {
		it := &items[i]
		if it.Type != typeStructure {
			continue
		}
		if it.Tag == kmip.TagKeyBlock {
			val, ch, err := keyBlock(it.Value, parent)
			if err != nil {
				return false, err
			}
			if ch {
				it.Value, changed = val, true
			}
			continue
		}
		kids, ok := wire.Level(it.Value)
		if !ok {
			continue
		}
		ch, err := walk(kids, it.Tag, depth+1)
		if err != nil {
			return false, err
		}
		if ch {
			it.Value, changed = wire.EncodeLevel(kids), true
		}
	}
	return changed, nil
}

// keyBlock rewrites the value of one Key Block whose parent has the tag
// parent; changed is false when it is left as it is.
func keyBlock(val []byte, parent uint32) (out []byte, changed bool, err error) {
	fields, ok := wire.Level(val)
	if !ok || len(fields) == 0 {
		return val, false, nil
	}
	var kv, alg, length *wire.Node
	wrapped := false
	for i := range fields {
		switch f := &fields[i]; f.Tag {
		case kmip.TagKeyValue:
			kv = f
		case kmip.TagCryptographicAlgorithm:
			alg = f
		case kmip.TagCryptographicLength:
			length = f
		case kmip.TagKeyWrappingData:
			wrapped = true
		}
	}
	var kvFields []wire.Node
	if kv != nil && kv.Type == typeStructure {
		if kvFields, ok = wire.Level(kv.Value); !ok {
			return val, false, nil
		}
		if hasMarker(kvFields) {
			return nil, false, invalid("attribute " + string(MarkerAttribute) + " is reserved to the server")
		}
	}
	format, ok := uint32Of(fields[0])
	if fields[0].Tag != kmip.TagKeyFormatType || fields[0].Type != typeEnumeration || !ok {
		return val, false, nil
	}
	private := false
	switch kmip.KeyFormatType(format) {
	case kmip.KeyFormatTypeTransparentDSAPrivateKey:
		private = true
		if parent != kmip.TagPrivateKey {
			return nil, false, invalid("Transparent DSA Private Key format outside a Private Key")
		}
	case kmip.KeyFormatTypeTransparentDSAPublicKey:
		if parent != kmip.TagPublicKey {
			return nil, false, invalid("Transparent DSA Public Key format outside a Public Key")
		}
	default:
		return val, false, nil
	}
	if kv == nil || kv.Type != typeStructure {
		return val, false, nil // no key value, or an encrypted one
	}
	if wrapped {
		return nil, false, invalid("a Transparent DSA key with key wrapping data must have a wrapped key value")
	}
	seen := map[uint32]bool{}
	for _, f := range fields[1:] {
		if seen[f.Tag] {
			return nil, false, invalid("repeated field in the key block")
		}
		seen[f.Tag] = true
		switch f.Tag {
		case kmip.TagKeyValue, kmip.TagCryptographicAlgorithm, kmip.TagCryptographicLength:
		case kmip.TagKeyCompressionType:
			return nil, false, invalid("Key Compression Type does not apply to DSA keys")
		default:
			return nil, false, invalid("unexpected field in the key block")
		}
	}
	if alg != nil {
		if a, ok := uint32Of(*alg); alg.Type != typeEnumeration || !ok || kmip.CryptographicAlgorithm(a) != kmip.CryptographicAlgorithmDSA {
			return nil, false, invalid("Cryptographic Algorithm must be DSA")
		}
	}
	if len(kvFields) == 0 || kvFields[0].Tag != kmip.TagKeyMaterial || kvFields[0].Type != typeStructure {
		return nil, false, invalid("Key Value must begin with a Key Material structure")
	}
	der, bits, err := materialDER(kvFields[0].Value, private)
	if err != nil {
		return nil, false, err
	}
	if length != nil {
		if l, ok := uint32Of(*length); length.Type != typeInteger || !ok || int32(l) != bits {
			return nil, false, invalid("Cryptographic Length must be the length of P in bits")
		}
	}
	carrier := kmip.KeyFormatTypeX_509
	if private {
		carrier = kmip.KeyFormatTypePKCS_8
	}
	kvOut := append([]wire.Node{{Tag: kmip.TagKeyMaterial, Type: typeByteString, Value: der}}, kvFields[1:]...)
	kvOut = append(kvOut, markerNode(kmip.KeyFormatType(format)))
	return wire.EncodeLevel([]wire.Node{
		enumNode(kmip.TagKeyFormatType, uint32(carrier)),
		{Tag: kmip.TagKeyValue, Type: typeStructure, Value: wire.EncodeLevel(kvOut)},
		enumNode(kmip.TagCryptographicAlgorithm, uint32(kmip.CryptographicAlgorithmDSA)),
		intNode(kmip.TagCryptographicLength, bits),
	}), true, nil
}

// materialDER reads a Transparent DSA Key Material structure, validates
// the key and returns its DER form and its length in bits.
func materialDER(val []byte, private bool) ([]byte, int32, error) {
	items, ok := wire.Level(val)
	if !ok {
		return nil, 0, invalid("malformed Key Material")
	}
	last, want := uint32(kmip.TagY), "P, Q, G and Y"
	if private {
		last, want = kmip.TagX, "P, Q, G and X"
	}
	got := map[uint32]*big.Int{}
	for _, it := range items {
		switch it.Tag {
		case kmip.TagP, kmip.TagQ, kmip.TagG, last:
		default:
			return nil, 0, invalid("Key Material must hold " + want + " only")
		}
		if _, dup := got[it.Tag]; dup {
			return nil, 0, invalid("Key Material must hold " + want + " once each")
		}
		n, ok := bigIntOf(it)
		if !ok {
			return nil, 0, invalid("P, Q, G, X and Y must be non-negative Big Integers")
		}
		got[it.Tag] = n
	}
	if len(got) != 4 {
		return nil, 0, invalid("Key Material must hold " + want)
	}
	p := Params{P: got[kmip.TagP], Q: got[kmip.TagQ], G: got[kmip.TagG]}
	x := got[last]
	if private {
		k := &PrivateKey{Params: p, X: x}
		der, err := k.MarshalPKCS8()
		return der, p.Bits(), err
	}
	k := &PublicKey{Params: p, Y: x}
	der, err := k.MarshalPKIX()
	return der, p.Bits(), err
}

// markerNode is the MarkerAttribute naming format.
func markerNode(format kmip.KeyFormatType) wire.Node {
	return wire.Node{Tag: kmip.TagAttribute, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{
		{Tag: kmip.TagAttributeName, Type: typeTextString, Value: []byte(MarkerAttribute)},
		enumNode(kmip.TagAttributeValue, uint32(format)),
	})}
}

// hasMarker reports whether Key Value fields hold MarkerAttribute.
func hasMarker(kvFields []wire.Node) bool {
	for _, f := range kvFields {
		if f.Tag != kmip.TagAttribute || f.Type != typeStructure {
			continue
		}
		inner, ok := wire.Level(f.Value)
		if !ok {
			continue
		}
		for _, a := range inner {
			if a.Tag == kmip.TagAttributeName && string(a.Value) == string(MarkerAttribute) {
				return true
			}
		}
	}
	return false
}

// RegisteredFormat returns the Transparent DSA Key Format Type a key block
// was registered in when it is one RewriteRequest made (PKCS#8 or X.509,
// Cryptographic Algorithm DSA, MarkerAttribute naming the matching
// Transparent format); zero otherwise.
func RegisteredFormat(kb *kmip.KeyBlock) kmip.KeyFormatType {
	if kb == nil || kb.KeyValue == nil || kb.KeyValue.Plain == nil || kb.CryptographicAlgorithm != kmip.CryptographicAlgorithmDSA {
		return 0
	}
	for _, a := range kb.KeyValue.Plain.Attribute {
		if a.AttributeName != MarkerAttribute {
			continue
		}
		v, ok := a.AttributeValue.(ttlv.Value)
		if !ok {
			return 0
		}
		e, ok := v.Value.(ttlv.Enum)
		if !ok {
			return 0
		}
		switch f := kmip.KeyFormatType(e); {
		case f == kmip.KeyFormatTypeTransparentDSAPrivateKey && kb.KeyFormatType == kmip.KeyFormatTypePKCS_8,
			f == kmip.KeyFormatTypeTransparentDSAPublicKey && kb.KeyFormatType == kmip.KeyFormatTypeX_509:
			return f
		}
		return 0
	}
	return 0
}

// WithoutMarker returns Key Value attributes without MarkerAttribute.
func WithoutMarker(attrs []kmip.Attribute) []kmip.Attribute {
	var out []kmip.Attribute
	for _, a := range attrs {
		if a.AttributeName != MarkerAttribute {
			out = append(out, a)
		}
	}
	return out
}
