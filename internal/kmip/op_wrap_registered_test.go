package kmip

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
)

// wrappedRFCKey is the RFC 3394 §4.1 key wrapped under kekID, as vector
// TC-WRAP-1-14 registers it: No Encoding, the wrapped bytes as Key
// Material.
func wrappedRFCKey(t *testing.T, kekID string) *kmip.SymmetricKey {
	t.Helper()
	w := unhex(t, rfcWrapped)
	return &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &w}}},
		KeyWrappingData: &kmip.KeyWrappingData{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: kmip.EncodingOptionNoEncoding,
			EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kekID, CryptographicParameters: nistWrap()}},
	}}
}

// keyBlockKind tells what a Get returned: "wrapped" (the RFC 3394 wrapped
// bytes with their Key Wrapping Data), "plain" (the RFC 3394 key) or
// anything else.
func keyBlockKind(kb kmip.KeyBlock) string {
	if kb.KeyValue == nil || kb.KeyValue.Plain == nil || kb.KeyValue.Plain.KeyMaterial.Bytes == nil {
		return "no key value"
	}
	m := hex.EncodeToString(*kb.KeyValue.Plain.KeyMaterial.Bytes)
	switch {
	case kb.KeyWrappingData != nil && m == rfcWrapped:
		return "wrapped"
	case kb.KeyWrappingData == nil && m == rfcKey:
		return "plain"
	}
	return "unexpected " + m
}

// TestRegisterWrappedKeepsRegistered: a key registered wrapped is kept as
// registered for Get with As Registered; it is unwrapped too when its
// wrapping key allows, and held only wrapped otherwise.
func TestRegisterWrappedKeepsRegistered(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	wrapOnly := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey, params: nistWrap()})
	preActive := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageUnwrapKey, params: nistWrap(), inactive: true})
	reg := func(kekID string) string {
		return register(t, r, kmip.ObjectTypeSymmetricKey, wrappedRFCKey(t, kekID), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	}
	unwrapped, keptWrapped, unknownKEK, later := reg(kek), reg(wrapOnly), reg("no-such-key"), reg(preActive)
	get := func(id string, wt kmip.KeyWrapType, f kmip.KeyFormatType) *payloads.GetRequestPayload {
		return &payloads.GetRequestPayload{UniqueIdentifier: id, KeyWrapType: wt, KeyFormatType: f}
	}
	tests := []struct {
		name   string
		req    *payloads.GetRequestPayload
		want   string            // keyBlockKind of the answer
		reason kmip.ResultReason // instead, the failure
	}{
		{"unwrapped: default is plain", get(unwrapped, 0, 0), "plain", 0},
		{"unwrapped: not wrapped is plain", get(unwrapped, kmip.NotWrapped, 0), "plain", 0},
		{"unwrapped: as registered", get(unwrapped, kmip.AsRegistered, kmip.KeyFormatTypeRaw), "wrapped", 0},
		{"as registered cannot change format", get(unwrapped, kmip.AsRegistered, kmip.KeyFormatTypeTransparentSymmetricKey), "", kmip.ResultReasonKeyFormatTypeNotSupported},
		{"TC-WRAP-1-14: wrap-only key, as registered", get(keptWrapped, kmip.AsRegistered, kmip.KeyFormatTypeRaw), "wrapped", 0},
		{"wrap-only key: default is the key as registered", get(keptWrapped, 0, 0), "wrapped", 0},
		{"wrap-only key: not wrapped is refused", get(keptWrapped, kmip.NotWrapped, 0), "", kmip.ResultReasonPermissionDenied},
		{"unknown wrapping key: as registered", get(unknownKEK, kmip.AsRegistered, 0), "wrapped", 0},
		{"unknown wrapping key: not wrapped", get(unknownKEK, kmip.NotWrapped, 0), "", kmip.ResultReasonItemNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reason != 0 {
				fails(t, r, tc.req, tc.reason)
				return
			}
			got := ok[*payloads.GetResponsePayload](t, r, tc.req)
			if k := keyBlockKind(got.Object.(*kmip.SymmetricKey).KeyBlock); k != tc.want {
				t.Fatalf("got %s, want %s", k, tc.want)
			}
		})
	}
	t.Run("as registered is not wrapped again", func(t *testing.T) {
		req := get(unwrapped, kmip.AsRegistered, 0)
		req.KeyWrappingSpecification = &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt,
			EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kek}}
		fails(t, r, req, kmip.ResultReasonFeatureNotSupported)
	})
	t.Run("a key held only wrapped has no usable material", func(t *testing.T) {
		o, err := r.m.Get(context.Background(), keptWrapped)
		if err != nil {
			t.Fatal(err)
		}
		if o.HoldsKeyValue() || o.Registered == nil {
			t.Fatalf("holds key value %v, registered %v", o.HoldsKeyValue(), o.Registered != nil)
		}
		if _, ok := o.Attr(kmip.AttributeNameDigest); ok {
			t.Fatal("digest computed over wrapped bytes")
		}
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: keptWrapped, Data: []byte("0123456789abcdef"),
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB, PaddingMethod: kmip.PaddingMethodNone}},
			kmip.ResultReasonPermissionDenied)
	})
	t.Run("unwrapping is tried again once the wrapping key is active", func(t *testing.T) {
		fails(t, r, get(later, kmip.NotWrapped, 0), kmip.ResultReasonPermissionDenied)
		ok[*payloads.ActivateResponsePayload](t, r, &payloads.ActivateRequestPayload{UniqueIdentifier: preActive})
		got := ok[*payloads.GetResponsePayload](t, r, get(later, kmip.NotWrapped, 0))
		if k := keyBlockKind(got.Object.(*kmip.SymmetricKey).KeyBlock); k != "plain" {
			t.Fatalf("got %s, want plain", k)
		}
	})
	t.Run("destroy removes the registered block too", func(t *testing.T) {
		id := register(t, r, kmip.ObjectTypeSymmetricKey, wrappedRFCKey(t, wrapOnly), keyOpts{mask: kmip.CryptographicUsageEncrypt, inactive: true})
		ok[*payloads.DestroyResponsePayload](t, r, &payloads.DestroyRequestPayload{UniqueIdentifier: id})
		o, err := r.m.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Value != nil || o.Registered != nil {
			t.Fatal("destroyed object keeps key material")
		}
		fails(t, r, get(id, kmip.AsRegistered, 0), kmip.ResultReasonItemNotFound)
	})
}

// TestRegisterWrappedRespectsGroups: a client cannot have the server unwrap
// with a wrapping key of another group: the key is kept wrapped, and
// neither group reaches the other's objects.
func TestRegisterWrappedRespectsGroups(t *testing.T) {
	r := newTestRouter(t)
	certA, certB := &x509.Certificate{Raw: []byte("a")}, &x509.Certificate{Raw: []byte("b")}
	certA.Subject.CommonName, certB.Subject.CommonName = "a", "b"
	r.resolver = fakeResolver{by: map[string]devices.Principal{
		"a": {Kind: devices.KindDevice, Group: "ga"},
		"b": {Kind: devices.KindDevice, Group: "gb"},
	}, revoked: map[string]bool{}}
	send := func(cert *x509.Certificate, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		msg := kmip.NewRequestMessage(kmip.V1_4, pl)
		raw := r.HandleMessage(context.Background(), Peer{Certificate: cert, ConnID: 1}, ttlv.MarshalTTLV(&msg))
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.BatchItem[0]
	}
	regItem := func(cert *x509.Certificate, obj kmip.Object, k keyOpts) string {
		it := send(cert, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey,
			TemplateAttribute: kmip.TemplateAttribute{Attribute: k.attrs()}, Object: obj})
		if it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("register: %s", ttlv.EnumStr(it.ResultReason))
		}
		return it.ResponsePayload.(*payloads.RegisterResponsePayload).UniqueIdentifier
	}
	material := unhex(t, rfcKEK)
	kekA := regItem(certA, &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeRaw,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}},
		CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128}},
		keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	ofB := regItem(certB, wrappedRFCKey(t, kekA), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	o, err := r.m.Get(context.Background(), ofB)
	if err != nil {
		t.Fatal(err)
	}
	if o.HoldsKeyValue() || o.Group != "gb" {
		t.Fatalf("B's key unwrapped with A's key (%v) or put in group %q", o.HoldsKeyValue(), o.Group)
	}
	tests := []struct {
		name   string
		cert   *x509.Certificate
		req    *payloads.GetRequestPayload
		reason kmip.ResultReason // 0: success
	}{
		{"owner gets it as registered", certB, &payloads.GetRequestPayload{UniqueIdentifier: ofB, KeyWrapType: kmip.AsRegistered}, 0},
		{"owner cannot have it unwrapped", certB, &payloads.GetRequestPayload{UniqueIdentifier: ofB, KeyWrapType: kmip.NotWrapped}, kmip.ResultReasonItemNotFound},
		{"the wrapping key's group does not see it", certA, &payloads.GetRequestPayload{UniqueIdentifier: ofB, KeyWrapType: kmip.AsRegistered}, kmip.ResultReasonItemNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := send(tc.cert, tc.req)
			if tc.reason == 0 && it.ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("want success, got %s", ttlv.EnumStr(it.ResultReason))
			}
			if tc.reason != 0 && (it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != tc.reason) {
				t.Fatalf("want %s, got %s/%s", ttlv.EnumStr(tc.reason), ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason))
			}
		})
	}
}
