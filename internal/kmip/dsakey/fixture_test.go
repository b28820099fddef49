package dsakey

import (
	"math/big"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// The key of the KMIP 2.1 test vectors BL-M-12-21 and BL-M-13-21 (512-bit
// P, 160-bit Q).
const (
	hexP = "fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a208f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee737592e17"
	hexQ = "962eddcc369cba8ebb260ee6b6a126d9346e38c5"
	hexG = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e35030b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4"
	hexY = "b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d76357a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f34728ac5fcf"
	hexX = "095411d740d2443fa3f97d1ed9a0411bb45e7131"
)

func hexInt(t testing.TB, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return n
}

func vectorParams(t testing.TB) Params {
	return Params{P: hexInt(t, hexP), Q: hexInt(t, hexQ), G: hexInt(t, hexG)}
}

func vectorPublic(t testing.TB) *PublicKey {
	return &PublicKey{Params: vectorParams(t), Y: hexInt(t, hexY)}
}

func vectorPrivate(t testing.TB) *PrivateKey {
	return &PrivateKey{Params: vectorParams(t), X: hexInt(t, hexX)}
}

// bigNode encodes n as a TTLV Big Integer: two's complement, a multiple of
// 8 bytes, as the vectors write them.
func bigNode(tag uint32, n *big.Int) wire.Node {
	b := n.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	if pad := (8 - len(b)%8) % 8; pad > 0 {
		b = append(make([]byte, pad), b...)
	}
	return wire.Node{Tag: tag, Type: typeBigInteger, Value: b}
}

// blockSpec describes a Transparent DSA key block for a test message.
type blockSpec struct {
	object   uint32 // Private Key or Public Key tag
	format   kmip.KeyFormatType
	material []wire.Node
	extra    []wire.Node // fields after Cryptographic Length
	kvExtra  []wire.Node // Key Value attributes
	alg      *wire.Node
	length   *wire.Node
}

// transparentMaterial is P, Q, G and then Y (public) or X (private).
func transparentMaterial(t testing.TB, private bool) []wire.Node {
	p := vectorParams(t)
	last := bigNode(kmip.TagY, hexInt(t, hexY))
	if private {
		last = bigNode(kmip.TagX, hexInt(t, hexX))
	}
	return []wire.Node{bigNode(kmip.TagP, p.P), bigNode(kmip.TagQ, p.Q), bigNode(kmip.TagG, p.G), last}
}

// registerMessage is a KMIP 1.4 Register request of the key block spec.
func registerMessage(s blockSpec) []byte {
	alg := enumNode(kmip.TagCryptographicAlgorithm, uint32(kmip.CryptographicAlgorithmDSA))
	if s.alg != nil {
		alg = *s.alg
	}
	length := intNode(kmip.TagCryptographicLength, 512)
	if s.length != nil {
		length = *s.length
	}
	kv := append([]wire.Node{{Tag: kmip.TagKeyMaterial, Type: typeStructure, Value: wire.EncodeLevel(s.material)}}, s.kvExtra...)
	block := []wire.Node{
		enumNode(kmip.TagKeyFormatType, uint32(s.format)),
		{Tag: kmip.TagKeyValue, Type: typeStructure, Value: wire.EncodeLevel(kv)},
		alg, length,
	}
	block = append(block, s.extra...)
	objType := kmip.ObjectTypePrivateKey
	if s.object == kmip.TagPublicKey {
		objType = kmip.ObjectTypePublicKey
	}
	payload := []wire.Node{
		enumNode(kmip.TagObjectType, uint32(objType)),
		{Tag: kmip.TagTemplateAttribute, Type: typeStructure},
		{Tag: s.object, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{{Tag: kmip.TagKeyBlock, Type: typeStructure, Value: wire.EncodeLevel(block)}})},
	}
	header := []wire.Node{
		{Tag: kmip.TagProtocolVersion, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{intNode(kmip.TagProtocolVersionMajor, 1), intNode(kmip.TagProtocolVersionMinor, 4)})},
		intNode(kmip.TagBatchCount, 1),
	}
	item := []wire.Node{
		enumNode(kmip.TagOperation, uint32(kmip.OperationRegister)),
		{Tag: kmip.TagRequestPayload, Type: typeStructure, Value: wire.EncodeLevel(payload)},
	}
	return wire.EncodeLevel([]wire.Node{{Tag: kmip.TagRequestMessage, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{
		{Tag: kmip.TagRequestHeader, Type: typeStructure, Value: wire.EncodeLevel(header)},
		{Tag: kmip.TagBatchItem, Type: typeStructure, Value: wire.EncodeLevel(item)},
	})}})
}
