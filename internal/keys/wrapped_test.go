package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

// wrappedKey is a key block wrapped under kek with No Encoding.
func wrappedKey(wrapped []byte, kek string) *kmip.SymmetricKey {
	return &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &wrapped}}},
		KeyWrappingData: &kmip.KeyWrappingData{WrappingMethod: kmip.WrappingMethodEncrypt, EncodingOption: kmip.EncodingOptionNoEncoding,
			EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kek}},
	}}
}

func TestRegisterWrapped(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	wrappedBytes := bytes.Repeat([]byte{0xa5}, 24)
	plainBytes := bytes.Repeat([]byte{0x11}, 16)
	plain := &kmip.SymmetricKey{KeyBlock: rawKeyBlock(plainBytes, kmip.CryptographicAlgorithmAES, 128)}
	tests := []struct {
		name       string
		plain      kmip.Object
		registered kmip.Object
		wantErr    error
		wantHolds  bool
	}{
		{name: "unwrapped by the server", plain: plain, registered: wrappedKey(wrappedBytes, "kek"), wantHolds: true},
		{name: "held only wrapped", registered: wrappedKey(wrappedBytes, "kek")},
		{name: "not wrapped", registered: plain, wantErr: ErrInvalidField},
		{name: "unwrapped form still wrapped", plain: wrappedKey(wrappedBytes, "kek"), registered: wrappedKey(wrappedBytes, "kek"), wantErr: ErrInvalidField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := m.RegisterWrapped(ctx, kmip.ObjectTypeSymmetricKey, tc.plain, tc.registered, aesAttrs("w"))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.HoldsKeyValue() != tc.wantHolds {
				t.Fatalf("holds key value = %v, want %v", got.HoldsKeyValue(), tc.wantHolds)
			}
			kb := KeyBlockOf(got.Registered)
			if kb == nil || kb.KeyWrappingData == nil || !bytes.Equal(*kb.KeyValue.Plain.KeyMaterial.Bytes, wrappedBytes) {
				t.Fatalf("registered block not kept: %+v", kb)
			}
			_, hasDigest := got.Attr(kmip.AttributeNameDigest)
			_, hasPresent := got.Attr(kmip.AttributeNameKeyValuePresent)
			if hasDigest != tc.wantHolds || hasPresent {
				t.Fatalf("digest %v (want %v), Key Value Present %v (want none)", hasDigest, tc.wantHolds, hasPresent)
			}
			if !tc.wantHolds && KeyBlockOf(got.Value).KeyValue != nil {
				t.Fatal("wrapped bytes stored as the key value")
			}
			if err := m.Destroy(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Get(ctx, o.ID); got.Value != nil || got.Registered != nil {
				t.Fatal("destroy left key material")
			}
		})
	}
}

// TestRecordRegisteredField: the registered block round-trips through the
// stored record, and a record written before the field existed still
// decodes.
func TestRecordRegisteredField(t *testing.T) {
	o := &Object{ID: "id1", Type: kmip.ObjectTypeSymmetricKey, Group: DefaultGroup, Origin: OriginRegistered, State: kmip.StatePreActive,
		Value:      &kmip.SymmetricKey{KeyBlock: rawKeyBlock(make([]byte, 16), kmip.CryptographicAlgorithmAES, 128)},
		Registered: wrappedKey(bytes.Repeat([]byte{1}, 24), "kek")}
	b, err := encodeObject(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round trip", func(t *testing.T) {
		got, err := decodeObject(b)
		if err != nil {
			t.Fatal(err)
		}
		kb := KeyBlockOf(got.Registered)
		if kb == nil || kb.KeyWrappingData == nil || kb.KeyWrappingData.EncryptionKeyInformation.UniqueIdentifier != "kek" {
			t.Fatalf("registered = %+v", got.Registered)
		}
	})
	t.Run("old record without the field", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "registered")
		old, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeObject(old)
		if err != nil {
			t.Fatal(err)
		}
		if got.Registered != nil || !got.HoldsKeyValue() {
			t.Fatalf("old record: registered %v, holds %v", got.Registered, got.HoldsKeyValue())
		}
	})
}
