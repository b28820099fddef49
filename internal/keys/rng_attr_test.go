package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestRandomNumberGeneratorAttr: a client may tell the generator of a key it
// registers (KMIP 1.3 §3.44, vector TC-RNG-ATTR-1-14), not of a key the
// server creates, and may not change it later.
func TestRandomNumberGeneratorAttr(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	drbg := kmip.Attribute{AttributeName: kmip.AttributeNameRandomNumberGenerator,
		AttributeValue: kmip.RNGParameters{RNGAlgorithm: kmip.RNGAlgorithmDRBG}}
	material := make([]byte, 32)
	key := func() kmip.Object {
		return &kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kmip.CryptographicAlgorithmAES, 256)}
	}
	tests := []struct {
		name    string
		do      func() (*Object, error)
		wantErr error
	}{
		{name: "register keeps the client's generator", do: func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, key(), append(aesAttrs("reg"), drbg))
		}},
		{name: "create refuses it", wantErr: ErrAttributeReadOnly, do: func() (*Object, error) {
			return m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("created"), drbg))
		}},
		{name: "register refuses two instances", wantErr: ErrAttributeSingleValued, do: func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, key(), append(aesAttrs("twice"), drbg, drbg))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.do()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got, err := m.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := got.Attr(kmip.AttributeNameRandomNumberGenerator)
			if !ok {
				t.Fatal("no Random Number Generator attribute")
			}
			if p, _ := v.(kmip.RNGParameters); p.RNGAlgorithm != kmip.RNGAlgorithmDRBG {
				t.Errorf("Random Number Generator = %+v, want DRBG", v)
			}
		})
	}
	if !errors.Is(checkClientAttrs([]kmip.Attribute{drbg}), ErrAttributeReadOnly) {
		t.Error("a client template (Create, Re-key) may not set the Random Number Generator")
	}
}
