package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
)

// TestRegisterMetadataOnly: a key registered without a Key Value is stored
// with Key Value Present false (vectors TC-MDO-*); a registering client may
// date its object (Original Creation Date), which the server dates only
// when it generates the object.
func TestRegisterMetadataOnly(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	location := kmip.Attribute{AttributeName: kmip.AttributeNameKeyValueLocation,
		AttributeValue: kmip.KeyValueLocation{KeyValueLocationValue: "HSM-12345", KeyValueLocationType: kmip.KeyValueLocationTypeUninterpretedTextString}}
	dated := time.Date(1970, 1, 1, 10, 42, 0, 0, time.UTC)
	ocd := kmip.Attribute{AttributeName: kmip.AttributeNameOriginalCreationDate, AttributeValue: dated}
	noValue := func() kmip.Object {
		return &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeRaw,
			CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 128}}
	}
	material := make([]byte, 16)
	withValue := func() kmip.Object {
		return &kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kmip.CryptographicAlgorithmAES, 128)}
	}
	tests := []struct {
		name        string
		do          func() (*Object, error)
		wantErr     error
		wantPresent any // the Key Value Present attribute; nil: absent
		wantOCD     any // time.Time, true (any date) or nil (absent)
	}{
		{name: "metadata only", wantPresent: false, do: func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, noValue(), append(aesAttrs("mdo"), location))
		}},
		{name: "with key value and the client's date", wantOCD: dated, do: func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, withValue(), append(aesAttrs("dated"), ocd))
		}},
		{name: "created key is dated by the server", wantOCD: true, do: func() (*Object, error) {
			return m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("created"))
		}},
		{name: "create may not carry a date", wantErr: ErrAttributeReadOnly, do: func() (*Object, error) {
			return m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("created-dated"), ocd))
		}},
		{name: "no key value but key wrapping data", wantErr: ErrInvalidField, do: func() (*Object, error) {
			k := noValue().(*kmip.SymmetricKey)
			k.KeyBlock.KeyWrappingData = &kmip.KeyWrappingData{WrappingMethod: kmip.WrappingMethodEncrypt}
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, k, aesAttrs("wrapped-nothing"))
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
			present, ok := got.Attr(kmip.AttributeNameKeyValuePresent)
			if !ok {
				present = nil
			}
			if present != tc.wantPresent {
				t.Errorf("Key Value Present = %v, want %v", present, tc.wantPresent)
			}
			date, ok := got.Attr(kmip.AttributeNameOriginalCreationDate)
			switch want := tc.wantOCD.(type) {
			case nil:
				if ok {
					t.Errorf("Original Creation Date = %v, want none", date)
				}
			case bool:
				if !ok {
					t.Error("no Original Creation Date")
				}
			case time.Time:
				if d, _ := date.(time.Time); !d.Equal(want) {
					t.Errorf("Original Creation Date = %v, want %v", date, want)
				}
			}
		})
	}
}
