package kmip

import (
	"bytes"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/crypto/keywrap"
)

// TestGetWrappedPGPKey: a PGP Key is a key object like the others: Get
// with a Key Wrapping Specification answers a PGP Key (its version kept)
// whose key block is wrapped, and the wrapped bytes unwrap to the key.
func TestGetWrappedPGPKey(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	material := []byte("-----BEGIN PGP PUBLIC KEY BLOCK----- (opaque to the server)")
	reg := ok[*payloads.RegisterResponsePayload](t, r, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePGPKey,
		Object: &kmip.PGPKey{PGPKeyVersion: 4, KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}}}}})
	spec := &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: kmip.EncodingOptionNoEncoding,
		EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kek,
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeAESKeyWrapPadding}}}
	got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: reg.UniqueIdentifier, KeyWrappingSpecification: spec})
	pgp, isPGP := got.Object.(*kmip.PGPKey)
	if !isPGP || pgp.PGPKeyVersion != 4 {
		t.Fatalf("Get answered %T %+v", got.Object, got.Object)
	}
	kb := pgp.KeyBlock
	if kb.KeyValue == nil || kb.KeyValue.Wrapped == nil || kb.KeyValue.Plain != nil || kb.KeyWrappingData == nil {
		t.Fatalf("key block not wrapped: %+v", kb)
	}
	plain, err := keywrap.UnwrapPad(unhex(t, rfcKEK), *kb.KeyValue.Wrapped)
	if err != nil || !bytes.Equal(plain, material) {
		t.Fatalf("unwrap = %q, %v", plain, err)
	}
}
