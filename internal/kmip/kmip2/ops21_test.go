package kmip2

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestAdjustAttributeTranslation(t *testing.T) {
	uid := ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "1"}
	inc := ttlv.Value{Tag: TagAdjustmentType, Value: ttlv.Enum(AdjustmentTypeIncrement)}
	by := ttlv.Value{Tag: TagAdjustmentValue, Value: time.Hour}
	vendor := ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Struct{
		{Tag: kmip.TagVendorIdentification, Value: "x"},
		{Tag: kmip.TagAttributeName, Value: "Counter"},
	}}
	tests := []struct {
		name     string
		payload  []ttlv.Value
		wantName kmip.AttributeName
		wantErr  error
	}{
		{"attribute tag", []ttlv.Value{uid, {Tag: TagAttributeReference, Value: ttlv.Enum(kmip.TagDeactivationDate)}, inc, by},
			kmip.AttributeNameDeactivationDate, nil},
		{"vendor attribute", []ttlv.Value{uid, vendor, inc, by}, "x-Counter", nil},
		{"derived attribute", []ttlv.Value{uid, {Tag: TagAttributeReference, Value: ttlv.Enum(TagShortUniqueIdentifier)}, inc, by},
			"", ErrReadOnly},
		{"unknown attribute", []ttlv.Value{uid, {Tag: TagAttributeReference, Value: ttlv.Enum(0x420145)}, inc, by},
			"", ErrUnsupportedAttribute},
		{"no reference", []ttlv.Value{uid, inc, by}, "", ErrMalformed},
		{"two references", []ttlv.Value{uid, vendor, vendor, inc, by}, "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, tr, err := Request(request(kmip.V2_1, OperationAdjustAttribute, tc.payload...))
			if err != nil {
				t.Fatalf("the message failed: %v", err)
			}
			if op, err := tr.Failed(0); !errors.Is(err, tc.wantErr) || op != OperationAdjustAttribute {
				t.Fatalf("item failure %v, %v; want %v", ttlv.EnumStr(op), err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			// The 1.4 message decodes into the typed payload and back to
			// the same bytes, as the router's decode check requires.
			var msg kmip.RequestMessage
			if err := ttlv.UnmarshalTTLV(out, &msg); err != nil {
				t.Fatal(err)
			}
			p, ok := msg.BatchItem[0].RequestPayload.(*AdjustAttributeRequestPayload)
			if !ok {
				t.Fatalf("payload %T", msg.BatchItem[0].RequestPayload)
			}
			if p.UniqueIdentifier != "1" || p.AttributeName != tc.wantName || p.AdjustmentType != AdjustmentTypeIncrement ||
				p.AdjustmentValue == nil || p.AdjustmentValue.Value != time.Hour {
				t.Fatalf("payload %+v", p)
			}
			if again := ttlv.MarshalTTLV(&msg); !bytes.Equal(again, out) {
				t.Fatal("the typed payload does not re-encode to the same bytes")
			}
		})
	}
}

// TestItemFailsAlone: the item that cannot be translated becomes an empty
// Query carrying its Unique Batch Item ID; the others are translated.
func TestItemFailsAlone(t *testing.T) {
	bad := ttlv.Value{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
		{Tag: kmip.TagOperation, Value: ttlv.Enum(kmip.OperationLocate)},
		{Tag: kmip.TagUniqueBatchItemID, Value: []byte{7}},
		{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{{Tag: TagAttributes, Value: ttlv.Struct{{Tag: 0x420145, Value: ttlv.Enum(1)}}}}},
	}}
	good := ttlv.Value{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
		{Tag: kmip.TagOperation, Value: ttlv.Enum(kmip.OperationLocate)},
		{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{{Tag: TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagObjectGroup, Value: "g"},
		}}}},
	}}
	out, tr, err := Request(ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{header(kmip.V2_1), bad, good}}))
	if err != nil {
		t.Fatal(err)
	}
	if op, err := tr.Failed(0); op != kmip.OperationLocate || !errors.Is(err, ErrUnsupportedAttribute) {
		t.Fatalf("item 0: %v, %v", ttlv.EnumStr(op), err)
	}
	if _, err := tr.Failed(1); err != nil {
		t.Fatalf("item 1 failed: %v", err)
	}
	var msg kmip.RequestMessage
	if err := ttlv.UnmarshalTTLV(out, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.BatchItem) != 2 {
		t.Fatalf("%d items", len(msg.BatchItem))
	}
	if it := msg.BatchItem[0]; it.Operation != kmip.OperationQuery || !bytes.Equal(it.UniqueBatchItemID, []byte{7}) {
		t.Fatalf("placeholder %+v", it)
	}
	if it := msg.BatchItem[1]; it.Operation != kmip.OperationLocate {
		t.Fatalf("item 1 %+v", it)
	}
}
