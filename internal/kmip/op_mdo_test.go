package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// TestMetadataOnlyKey: a key registered without a Key Value (vectors
// TC-MDO-*) is served as its bare key block, and cryptographic operations
// on it are refused, not attempted.
func TestMetadataOnlyKey(t *testing.T) {
	r := newTestRouter(t)
	id := register(t, r, kmip.ObjectTypeSymmetricKey, &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128}},
		keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt, extra: []kmip.Attribute{{
			AttributeName:  kmip.AttributeNameKeyValueLocation,
			AttributeValue: kmip.KeyValueLocation{KeyValueLocationValue: "HSM-12345", KeyValueLocationType: kmip.KeyValueLocationTypeUninterpretedTextString},
		}}})

	t.Run("get serves the key block without a value", func(t *testing.T) {
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id})
		kb := got.Object.(*kmip.SymmetricKey).KeyBlock
		if kb.KeyValue != nil || kb.CryptographicLength != 128 {
			t.Fatalf("key block = %+v, want no key value, 128 bits", kb)
		}
	})
	t.Run("key value present is false", func(t *testing.T) {
		got := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{
			UniqueIdentifier: id, AttributeName: []kmip.AttributeName{kmip.AttributeNameKeyValuePresent}})
		if len(got.Attribute) != 1 || got.Attribute[0].AttributeValue != false {
			t.Fatalf("attributes = %+v, want Key Value Present false", got.Attribute)
		}
	})
	refusals := []struct {
		name   string
		pl     kmip.OperationPayload
		reason kmip.ResultReason
	}{
		{"encrypt", &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: make([]byte, 16),
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB, PaddingMethod: kmip.PaddingMethodNone}},
			kmip.ResultReasonCryptographicFailure},
		{"get transparent", &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: kmip.KeyFormatTypeTransparentSymmetricKey},
			kmip.ResultReasonKeyFormatTypeNotSupported},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) { fails(t, r, tc.pl, tc.reason) })
	}
}
