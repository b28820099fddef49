package kmip

import (
	"bytes"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/crypto/keywrap"
)

// TestWrappedPGPKey: a PGP Key is a key object like the others. Get with a
// Key Wrapping Specification answers a PGP Key (its version kept) whose
// key block is wrapped; a PGP Key registered wrapped is unwrapped, and Get
// serves it plain.
func TestWrappedPGPKey(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	material := []byte("-----BEGIN PGP PUBLIC KEY BLOCK----- (opaque to the server)")
	padWrap := &kmip.EncryptionKeyInformation{UniqueIdentifier: kek,
		CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeAESKeyWrapPadding}}
	register := func(t *testing.T, kb kmip.KeyBlock) string {
		t.Helper()
		return ok[*payloads.RegisterResponsePayload](t, r, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePGPKey,
			Object: &kmip.PGPKey{PGPKeyVersion: 4, KeyBlock: kb}}).UniqueIdentifier
	}
	get := func(t *testing.T, id string, spec *kmip.KeyWrappingSpecification) kmip.KeyBlock {
		t.Helper()
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyWrappingSpecification: spec})
		pgp, isPGP := got.Object.(*kmip.PGPKey)
		if !isPGP || pgp.PGPKeyVersion != 4 {
			t.Fatalf("Get answered %T %+v", got.Object, got.Object)
		}
		return pgp.KeyBlock
	}

	t.Run("Get wraps", func(t *testing.T) {
		id := register(t, kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}}})
		kb := get(t, id, &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt,
			EncodingOption: kmip.EncodingOptionNoEncoding, EncryptionKeyInformation: padWrap})
		if kb.KeyValue == nil || kb.KeyValue.Wrapped == nil || kb.KeyValue.Plain != nil || kb.KeyWrappingData == nil {
			t.Fatalf("key block not wrapped: %+v", kb)
		}
		plain, err := keywrap.UnwrapPad(unhex(t, rfcKEK), *kb.KeyValue.Wrapped)
		if err != nil || !bytes.Equal(plain, material) {
			t.Fatalf("unwrap = %q, %v", plain, err)
		}
	})
	t.Run("Register unwraps", func(t *testing.T) {
		w, err := keywrap.WrapPad(unhex(t, rfcKEK), material)
		if err != nil {
			t.Fatal(err)
		}
		id := register(t, kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque, KeyValue: &kmip.KeyValue{Wrapped: &w},
			KeyWrappingData: &kmip.KeyWrappingData{WrappingMethod: kmip.WrappingMethodEncrypt,
				EncodingOption: kmip.EncodingOptionNoEncoding, EncryptionKeyInformation: padWrap}})
		kb := get(t, id, nil)
		if kb.KeyWrappingData != nil || kb.KeyValue == nil || kb.KeyValue.Plain == nil || kb.KeyValue.Plain.KeyMaterial.Bytes == nil ||
			!bytes.Equal(*kb.KeyValue.Plain.KeyMaterial.Bytes, material) {
			t.Fatalf("stored key block is not the plain key: %+v", kb)
		}
	})
}
