package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

func TestGetSensitiveServesWrappedOnly(t *testing.T) {
	r := newTestRouter(t)
	sensitive := kmip.Attribute{AttributeName: kmip.AttributeNameSensitive, AttributeValue: true}
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	key := registerSymmetric(t, r, unhex(t, rfcKey), keyOpts{mask: kmip.CryptographicUsageEncrypt, extra: []kmip.Attribute{sensitive}})
	plain := registerSymmetric(t, r, unhex(t, rfcKey), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	wrap := &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: kmip.EncodingOptionNoEncoding,
		EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kek}}

	t.Run("sensitive key in the clear", func(t *testing.T) {
		fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: key}, kmip.ResultReasonSensitive)
	})
	t.Run("sensitive key wrapped", func(t *testing.T) {
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: key, KeyWrappingSpecification: wrap})
		if kb := got.Object.(*kmip.SymmetricKey).KeyBlock; kb.KeyValue == nil || kb.KeyValue.Wrapped == nil {
			t.Fatal("not wrapped")
		}
	})
	t.Run("key not sensitive", func(t *testing.T) {
		ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: plain})
	})
	t.Run("sensitive DSA public key", func(t *testing.T) {
		id := registerDSA(t, r, false, true)
		get := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: id})
		_, it := rawItem(t, r, ttlv.MarshalTTLV(&get))
		if dsaFind(it, kmip.TagResultReason) != ttlv.Enum(kmip.ResultReasonSensitive) {
			t.Fatalf("got %v", dsaFind(it, kmip.TagResultReason))
		}
	})
}
