package kmip

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/crypto/keywrap"
)

// RFC 3394 section 4.1.
const (
	rfcKEK     = "000102030405060708090a0b0c0d0e0f"
	rfcKey     = "00112233445566778899aabbccddeeff"
	rfcWrapped = "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
)

func nistWrap() *kmip.CryptographicParameters {
	return &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeNISTKeyWrap}
}

func TestGetWrapped(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	noWrap := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageEncrypt, params: nistWrap()})
	key := registerSymmetric(t, r, unhex(t, rfcKey), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	spec := func(kekID string, enc kmip.EncodingOption, mode kmip.BlockCipherMode, attrs ...kmip.AttributeName) *kmip.KeyWrappingSpecification {
		s := &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: enc, AttributeName: attrs,
			EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kekID}}
		if mode != 0 {
			s.EncryptionKeyInformation.CryptographicParameters = &kmip.CryptographicParameters{BlockCipherMode: mode}
		}
		return s
	}
	wrappedOf := func(t *testing.T, s *kmip.KeyWrappingSpecification) (kmip.KeyBlock, []byte) {
		t.Helper()
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: key, KeyWrappingSpecification: s})
		kb := got.Object.(*kmip.SymmetricKey).KeyBlock
		if kb.KeyValue == nil || kb.KeyValue.Wrapped == nil || kb.KeyWrappingData == nil {
			t.Fatalf("key block not wrapped: %+v", kb)
		}
		return kb, *kb.KeyValue.Wrapped
	}

	t.Run("NIST key wrap, no encoding: RFC 3394 4.1", func(t *testing.T) {
		kb, w := wrappedOf(t, spec(kek, kmip.EncodingOptionNoEncoding, 0))
		if hex.EncodeToString(w) != rfcWrapped {
			t.Fatalf("wrapped = %x, want %s", w, rfcWrapped)
		}
		if kb.KeyWrappingData.EncryptionKeyInformation.UniqueIdentifier != kek || kb.KeyWrappingData.EncodingOption != kmip.EncodingOptionNoEncoding {
			t.Fatalf("key wrapping data = %+v", kb.KeyWrappingData)
		}
	})
	t.Run("AES key wrap with padding", func(t *testing.T) {
		_, w := wrappedOf(t, spec(kek, kmip.EncodingOptionNoEncoding, kmip.BlockCipherModeAESKeyWrapPadding))
		p, err := keywrap.UnwrapPad(unhex(t, rfcKEK), w)
		if err != nil || hex.EncodeToString(p) != rfcKey {
			t.Fatalf("unwrap = %x, %v", p, err)
		}
	})
	t.Run("TTLV encoding with an attribute", func(t *testing.T) {
		_, w := wrappedOf(t, spec(kek, kmip.EncodingOptionTTLVEncoding, 0, kmip.AttributeNameCryptographicUsageMask))
		p, err := keywrap.Unwrap(unhex(t, rfcKEK), w)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := decodeKeyValue(kmip.KeyFormatTypeRaw, p)
		if err != nil {
			t.Fatalf("wrapped key value: %v", err)
		}
		if m := kv.Plain.KeyMaterial.Bytes; m == nil || hex.EncodeToString(*m) != rfcKey {
			t.Fatalf("key material = %v", m)
		}
		if len(kv.Plain.Attribute) != 1 || kv.Plain.Attribute[0].AttributeName != kmip.AttributeNameCryptographicUsageMask {
			t.Fatalf("attributes = %+v", kv.Plain.Attribute)
		}
	})
	failing := []struct {
		name   string
		spec   *kmip.KeyWrappingSpecification
		reason kmip.ResultReason
	}{
		{"wrapping key without the Wrap Key mask", spec(noWrap, kmip.EncodingOptionNoEncoding, 0), kmip.ResultReasonPermissionDenied},
		{"unknown wrapping key", spec("nope", kmip.EncodingOptionNoEncoding, 0), kmip.ResultReasonItemNotFound},
		{"no encoding with attributes", spec(kek, kmip.EncodingOptionNoEncoding, 0, kmip.AttributeNameName), kmip.ResultReasonEncodingOptionError},
		{"MAC/sign wrapping", &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodMACSign}, kmip.ResultReasonFeatureNotSupported},
		{"no key information", &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt}, kmip.ResultReasonMissingData},
		{"not a key wrap mode", spec(kek, kmip.EncodingOptionNoEncoding, kmip.BlockCipherModeCBC), kmip.ResultReasonFeatureNotSupported},
	}
	for _, tc := range failing {
		t.Run(tc.name, func(t *testing.T) {
			fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: key, KeyWrappingSpecification: tc.spec}, tc.reason)
		})
	}
	t.Run("as registered: a key registered plain comes back plain", func(t *testing.T) {
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: key, KeyWrapType: kmip.AsRegistered})
		kb := got.Object.(*kmip.SymmetricKey).KeyBlock
		if kb.KeyWrappingData != nil || kb.KeyValue.Plain == nil || hex.EncodeToString(*kb.KeyValue.Plain.KeyMaterial.Bytes) != rfcKey {
			t.Fatalf("key block = %+v", kb)
		}
	})
}

func TestRegisterWrapped(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	wrappedKey := func(kekID string, w []byte, enc kmip.EncodingOption) *kmip.SymmetricKey {
		return &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
			KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128,
			KeyValue: &kmip.KeyValue{Wrapped: &w},
			KeyWrappingData: &kmip.KeyWrappingData{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: enc,
				EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kekID, CryptographicParameters: nistWrap()}},
		}}
	}
	regReq := func(obj kmip.Object) *payloads.RegisterRequestPayload {
		return &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey, Object: obj,
			TemplateAttribute: kmip.TemplateAttribute{Attribute: keyOpts{mask: kmip.CryptographicUsageEncrypt}.attrs()}}
	}
	plainOf := func(t *testing.T, id string) []byte {
		t.Helper()
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id})
		kb := got.Object.(*kmip.SymmetricKey).KeyBlock
		if kb.KeyWrappingData != nil || kb.KeyValue.Plain == nil || kb.KeyValue.Plain.KeyMaterial.Bytes == nil {
			t.Fatalf("stored key block is not plain: %+v", kb)
		}
		return *kb.KeyValue.Plain.KeyMaterial.Bytes
	}

	t.Run("no encoding: RFC 3394 4.1", func(t *testing.T) {
		id := ok[*payloads.RegisterResponsePayload](t, r, regReq(wrappedKey(kek, unhex(t, rfcWrapped), kmip.EncodingOptionNoEncoding))).UniqueIdentifier
		if got := plainOf(t, id); hex.EncodeToString(got) != rfcKey {
			t.Fatalf("stored key = %x, want %s", got, rfcKey)
		}
	})
	t.Run("TTLV encoding", func(t *testing.T) {
		material := unhex(t, rfcKey)
		enc := ttlv.NewTTLVEncoder()
		enc.TagAny(kmip.TagKeyValue, &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}})
		w, err := keywrap.Wrap(unhex(t, rfcKEK), enc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		id := ok[*payloads.RegisterResponsePayload](t, r, regReq(wrappedKey(kek, w, 0))).UniqueIdentifier
		if got := plainOf(t, id); !bytes.Equal(got, material) {
			t.Fatalf("stored key = %x", got)
		}
	})
	t.Run("no encoding, wrapped key material inside a key value structure", func(t *testing.T) {
		w := unhex(t, rfcWrapped)
		obj := wrappedKey(kek, nil, kmip.EncodingOptionNoEncoding)
		obj.KeyBlock.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &w}}}
		id := ok[*payloads.RegisterResponsePayload](t, r, regReq(obj)).UniqueIdentifier
		if got := plainOf(t, id); hex.EncodeToString(got) != rfcKey {
			t.Fatalf("stored key = %x, want %s", got, rfcKey)
		}
	})
	failing := []struct {
		name   string
		obj    kmip.Object
		reason kmip.ResultReason
	}{
		{"modified wrapped key", wrappedKey(kek, flip(unhex(t, rfcWrapped), 9), kmip.EncodingOptionNoEncoding), kmip.ResultReasonCryptographicFailure},
		{"TTLV encoding of garbage", wrappedKey(kek, unhex(t, rfcWrapped), kmip.EncodingOptionTTLVEncoding), kmip.ResultReasonEncodingOptionError},
	}
	for _, tc := range failing {
		t.Run(tc.name, func(t *testing.T) { fails(t, r, regReq(tc.obj), tc.reason) })
	}
}
