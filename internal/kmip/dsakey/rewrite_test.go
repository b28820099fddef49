package dsakey

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// decodeRegister decodes a rewritten request with ovh's decoder.
func decodeRegister(t *testing.T, msg []byte) *payloads.RegisterRequestPayload {
	t.Helper()
	var m kmip.RequestMessage
	if err := ttlv.UnmarshalTTLV(bytes.Clone(msg), &m); err != nil {
		t.Fatalf("ovh cannot decode the rewritten message: %v", err)
	}
	if !bytes.Equal(ttlv.MarshalTTLV(&m), msg) {
		t.Fatal("the rewritten message does not survive ovh's decode and encode unchanged")
	}
	return m.BatchItem[0].RequestPayload.(*payloads.RegisterRequestPayload)
}

func TestRewriteRequestCarriesTheKey(t *testing.T) {
	label := kmip.Attribute{AttributeName: "x-label", AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: "kv"}}
	enc := ttlv.NewTTLVEncoder()
	enc.TagAny(kmip.TagAttribute, &label)
	kvAttr, _ := wire.Level(enc.Bytes())
	tests := []struct {
		name    string
		private bool
	}{
		{"private key", true},
		{"public key", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blockSpec{object: kmip.TagPublicKey, format: kmip.KeyFormatTypeTransparentDSAPublicKey, material: transparentMaterial(t, tc.private), kvExtra: kvAttr}
			if tc.private {
				s.object, s.format = kmip.TagPrivateKey, kmip.KeyFormatTypeTransparentDSAPrivateKey
			}
			out, err := RewriteRequest(registerMessage(s))
			if err != nil {
				t.Fatal(err)
			}
			reg := decodeRegister(t, out)
			var kb *kmip.KeyBlock
			switch o := reg.Object.(type) {
			case *kmip.PrivateKey:
				kb = &o.KeyBlock
			case *kmip.PublicKey:
				kb = &o.KeyBlock
			}
			if kb == nil || kb.CryptographicAlgorithm != kmip.CryptographicAlgorithmDSA || kb.CryptographicLength != 512 {
				t.Fatalf("carrier block %+v", kb)
			}
			if got := RegisteredFormat(kb); got != s.format {
				t.Fatalf("RegisteredFormat = %v, want %v", got, s.format)
			}
			attrs := WithoutMarker(kb.KeyValue.Plain.Attribute)
			if len(attrs) != 1 || attrs[0].AttributeName != "x-label" {
				t.Fatalf("Key Value attributes not kept: %+v", attrs)
			}
			der, err := kb.GetBytes()
			if err != nil {
				t.Fatal(err)
			}
			if tc.private {
				k, err := ParsePKCS8(der)
				if err != nil || kb.KeyFormatType != kmip.KeyFormatTypePKCS_8 || k.X.Cmp(hexInt(t, hexX)) != 0 {
					t.Fatalf("carrier %v: %v", kb.KeyFormatType, err)
				}
			} else {
				k, err := ParsePKIX(der)
				if err != nil || kb.KeyFormatType != kmip.KeyFormatTypeX_509 || k.Y.Cmp(hexInt(t, hexY)) != 0 {
					t.Fatalf("carrier %v: %v", kb.KeyFormatType, err)
				}
			}
		})
	}
}

func TestRewriteRequestLeavesOtherMessages(t *testing.T) {
	plain := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: "1"})
	wrapped := registerMessage(blockSpec{object: kmip.TagPrivateKey, format: kmip.KeyFormatTypeTransparentDSAPrivateKey, material: transparentMaterial(t, true)})
	// Replace the Key Value structure by a byte string: an encrypted value.
	wrapped = bytes.Replace(wrapped, []byte{0x42, 0x00, 0x45, typeStructure}, []byte{0x42, 0x00, 0x45, typeByteString}, 1)
	tests := []struct {
		name string
		msg  []byte
	}{
		{"no DSA key", ttlv.MarshalTTLV(&plain)},
		{"not TTLV", append([]byte("KeyFormatType"), formatItem(kmip.KeyFormatTypeTransparentDSAPublicKey)[:5]...)},
		{"wrapped key value", wrapped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := RewriteRequest(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(tc.msg) || &out[0] != &tc.msg[0] {
				t.Fatal("message rewritten")
			}
		})
	}
}

func TestRewriteRequestRefuses(t *testing.T) {
	priv := func(t *testing.T) blockSpec {
		return blockSpec{object: kmip.TagPrivateKey, format: kmip.KeyFormatTypeTransparentDSAPrivateKey, material: transparentMaterial(t, true)}
	}
	rsa := enumNode(kmip.TagCryptographicAlgorithm, uint32(kmip.CryptographicAlgorithmRSA))
	l1024 := intNode(kmip.TagCryptographicLength, 1024)
	marker := markerNode(kmip.KeyFormatTypeTransparentDSAPrivateKey)
	tests := []struct {
		name   string
		mutate func(t *testing.T, s *blockSpec)
		want   string
	}{
		{"private format in a public key", func(_ *testing.T, s *blockSpec) { s.object = kmip.TagPublicKey }, "outside a Private Key"},
		{"public format in a private key", func(t *testing.T, s *blockSpec) {
			s.format, s.material = kmip.KeyFormatTypeTransparentDSAPublicKey, transparentMaterial(t, false)
		}, "outside a Public Key"},
		{"client-set marker", func(_ *testing.T, s *blockSpec) { s.kvExtra = []wire.Node{marker} }, "reserved to the server"},
		{"Y in a private key", func(t *testing.T, s *blockSpec) { s.material = transparentMaterial(t, false) }, "P, Q, G and X only"},
		{"X missing", func(_ *testing.T, s *blockSpec) { s.material = s.material[:3] }, "must hold P, Q, G and X"},
		{"P twice", func(_ *testing.T, s *blockSpec) { s.material = append(s.material, s.material[0]) }, "once each"},
		{"negative G", func(_ *testing.T, s *blockSpec) {
			s.material[2] = wire.Node{Tag: kmip.TagG, Type: typeBigInteger, Value: bytes.Repeat([]byte{0xff}, 8)}
		}, "non-negative Big Integers"},
		{"G as a byte string", func(_ *testing.T, s *blockSpec) {
			s.material[2] = wire.Node{Tag: kmip.TagG, Type: typeByteString, Value: []byte{2}}
		}, "non-negative Big Integers"},
		{"bad parameters", func(_ *testing.T, s *blockSpec) { s.material[2] = bigNode(kmip.TagG, one) }, "G must lie between 1 and P"},
		{"RSA algorithm", func(_ *testing.T, s *blockSpec) { s.alg = &rsa }, "Cryptographic Algorithm must be DSA"},
		{"wrong length", func(_ *testing.T, s *blockSpec) { s.length = &l1024 }, "length of P"},
		{"wrapping data with a plain value", func(_ *testing.T, s *blockSpec) {
			s.extra = []wire.Node{{Tag: kmip.TagKeyWrappingData, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{enumNode(kmip.TagWrappingMethod, 1)})}}
		}, "must have a wrapped key value"},
		{"two lengths", func(_ *testing.T, s *blockSpec) {
			s.extra = []wire.Node{intNode(kmip.TagCryptographicLength, 512)}
		}, "repeated field"},
		{"compression type", func(_ *testing.T, s *blockSpec) {
			s.extra = []wire.Node{enumNode(kmip.TagKeyCompressionType, 1)}
		}, "Key Compression Type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := priv(t)
			tc.mutate(t, &s)
			_, err := RewriteRequest(registerMessage(s))
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
}

func TestRewriteRequestRefusesMarkerOnAnyKey(t *testing.T) {
	// A PKCS#8 key block a client sends with the marker would otherwise be
	// served as if it had been registered in the Transparent format.
	der, err := vectorPrivate(t).MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	kv := wire.EncodeLevel([]wire.Node{{Tag: kmip.TagKeyMaterial, Type: typeByteString, Value: der}, markerNode(kmip.KeyFormatTypeTransparentDSAPrivateKey)})
	block := wire.EncodeLevel([]wire.Node{enumNode(kmip.TagKeyFormatType, uint32(kmip.KeyFormatTypePKCS_8)), {Tag: kmip.TagKeyValue, Type: typeStructure, Value: kv}})
	msg := wire.EncodeLevel([]wire.Node{{Tag: kmip.TagPrivateKey, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{{Tag: kmip.TagKeyBlock, Type: typeStructure, Value: block}})}})
	var de *Error
	if _, err := RewriteRequest(msg); !errors.As(err, &de) {
		t.Fatalf("client-set marker accepted: %v", err)
	}
}

func TestObjectsEncodeTheTransparentFormat(t *testing.T) {
	resp := payloads.GetResponsePayload{ObjectType: kmip.ObjectTypePrivateKey, UniqueIdentifier: "1", Object: &PrivateKeyObject{Key: *vectorPrivate(t)}}
	got := encodePayload(&resp)
	block := wire.EncodeLevel([]wire.Node{
		enumNode(kmip.TagKeyFormatType, uint32(kmip.KeyFormatTypeTransparentDSAPrivateKey)),
		{Tag: kmip.TagKeyValue, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{{Tag: kmip.TagKeyMaterial, Type: typeStructure, Value: wire.EncodeLevel(transparentMaterial(t, true))}})},
		enumNode(kmip.TagCryptographicAlgorithm, uint32(kmip.CryptographicAlgorithmDSA)),
		intNode(kmip.TagCryptographicLength, 512),
	})
	want := wire.EncodeLevel([]wire.Node{{Tag: kmip.TagResponsePayload, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{
		enumNode(kmip.TagObjectType, uint32(kmip.ObjectTypePrivateKey)),
		{Tag: kmip.TagUniqueIdentifier, Type: typeTextString, Value: []byte("1")},
		{Tag: kmip.TagPrivateKey, Type: typeStructure, Value: wire.EncodeLevel([]wire.Node{{Tag: kmip.TagKeyBlock, Type: typeStructure, Value: block}})},
	})}})
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	pub := payloads.GetResponsePayload{ObjectType: kmip.ObjectTypePublicKey, UniqueIdentifier: "1", Object: &PublicKeyObject{Key: *vectorPublic(t)}}
	if !bytes.Contains(encodePayload(&pub), wire.EncodeLevel(transparentMaterial(t, false))) {
		t.Fatal("public key material not encoded as P, Q, G, Y")
	}
}

// encodePayload encodes a response payload as a batch item holds it.
func encodePayload(p *payloads.GetResponsePayload) []byte {
	enc := ttlv.NewTTLVEncoder()
	enc.TagAny(kmip.TagResponsePayload, p)
	return enc.Bytes()
}
