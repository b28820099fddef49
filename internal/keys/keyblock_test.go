package keys

import (
	"math/big"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestKeyBlockOf: every key object's block is found (the block itself,
// not a copy), other objects have none, and WithKeyBlock swaps the block
// of a copy, keeping the object's other fields and the original.
func TestKeyBlockOf(t *testing.T) {
	block := func(alg kmip.CryptographicAlgorithm) kmip.KeyBlock {
		m := []byte{1, 2, 3, 4}
		return kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: alg, CryptographicLength: 32,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &m}}}}
	}
	tests := []struct {
		name string
		obj  func() kmip.Object
		// others reports whether o still has the fields besides the
		// key block that obj gave it.
		others func(o kmip.Object) bool
	}{
		{"symmetric key", func() kmip.Object { return &kmip.SymmetricKey{KeyBlock: block(kmip.CryptographicAlgorithmAES)} }, nil},
		{"private key", func() kmip.Object { return &kmip.PrivateKey{KeyBlock: block(kmip.CryptographicAlgorithmRSA)} }, nil},
		{"public key", func() kmip.Object { return &kmip.PublicKey{KeyBlock: block(kmip.CryptographicAlgorithmRSA)} }, nil},
		{"secret data", func() kmip.Object {
			return &kmip.SecretData{SecretDataType: kmip.SecretDataTypeSeed, KeyBlock: block(0)}
		}, func(o kmip.Object) bool { return o.(*kmip.SecretData).SecretDataType == kmip.SecretDataTypeSeed }},
		{"split key", func() kmip.Object {
			return &kmip.SplitKey{SplitKeyParts: 3, KeyPartIdentifier: 2, SplitKeyThreshold: 2,
				SplitKeyMethod: kmip.SplitKeyMethodPolynomialSharingPrimeField, PrimeFieldSize: big.NewInt(257), KeyBlock: block(kmip.CryptographicAlgorithmAES)}
		}, func(o kmip.Object) bool {
			s := o.(*kmip.SplitKey)
			return s.SplitKeyParts == 3 && s.KeyPartIdentifier == 2 && s.SplitKeyThreshold == 2 &&
				s.SplitKeyMethod == kmip.SplitKeyMethodPolynomialSharingPrimeField && s.PrimeFieldSize.Int64() == 257
		}},
		{"PGP key", func() kmip.Object { return &kmip.PGPKey{PGPKeyVersion: 4, KeyBlock: block(0)} },
			func(o kmip.Object) bool { return o.(*kmip.PGPKey).PGPKeyVersion == 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.obj()
			kb := KeyBlockOf(o)
			if kb == nil {
				t.Fatalf("no key block in %T", o)
			}
			kb.CryptographicLength = 64
			if KeyBlockOf(o).CryptographicLength != 64 {
				t.Fatal("KeyBlockOf returned a copy, not the object's block")
			}
			next := WithKeyBlock(o, kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque})
			if next == o || next.ObjectType() != o.ObjectType() {
				t.Fatalf("WithKeyBlock returned %T %p for %T %p", next, next, o, o)
			}
			if f := KeyBlockOf(next).KeyFormatType; f != kmip.KeyFormatTypeOpaque {
				t.Fatalf("new block's format %v", f)
			}
			if KeyBlockOf(o).KeyFormatType != kmip.KeyFormatTypeRaw || KeyBlockOf(o).KeyValue == nil {
				t.Fatal("WithKeyBlock changed the original")
			}
			if tt.others != nil && !tt.others(next) {
				t.Fatalf("WithKeyBlock lost the other fields: %+v", next)
			}
		})
	}
	t.Run("objects without a key block", func(t *testing.T) {
		for _, o := range []kmip.Object{nil, &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509}, &kmip.OpaqueObject{OpaqueDataValue: []byte{1}}} {
			if kb := KeyBlockOf(o); kb != nil {
				t.Errorf("%T has key block %+v", o, kb)
			}
			if got := WithKeyBlock(o, kmip.KeyBlock{}); got != o {
				t.Errorf("WithKeyBlock(%T) = %T, want it unchanged", o, got)
			}
		}
	})
}
