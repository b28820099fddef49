package kmip2

import (
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestChainTranslation(t *testing.T) {
	item := func(op kmip.Operation, eph any, data any) ttlv.Value {
		it := ttlv.Struct{{Tag: kmip.TagOperation, Value: ttlv.Enum(op)}}
		if eph != nil {
			it = append(it, ttlv.Value{Tag: TagEphemeral, Value: eph})
		}
		return ttlv.Value{Tag: kmip.TagBatchItem, Value: append(it, ttlv.Value{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{
			{Tag: kmip.TagUniqueIdentifier, Value: "k"},
			{Tag: kmip.TagData, Value: data},
		}})}
	}
	msg := ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{header(kmip.V2_1),
		item(kmip.OperationDecrypt, true, []byte{1}),
		item(kmip.OperationEncrypt, nil, ttlv.Enum(DataDecrypt)),
		item(kmip.OperationEncrypt, int32(1), []byte{1}),
		item(kmip.OperationHash, nil, ttlv.Enum(DataDecrypt)),
	}})
	out, tr, err := Request(msg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		i         int
		ephemeral bool
		from      kmip.Operation
		failed    error
	}{
		{"ephemeral decrypt", 0, true, 0, nil},
		{"encrypt of the decrypt's output", 1, false, kmip.OperationDecrypt, nil},
		{"ephemeral not a boolean", 2, false, 0, ErrMalformed},
		{"an operation that cannot take an output", 3, false, 0, ErrNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tr.Failed(tc.i); !errors.Is(err, tc.failed) {
				t.Fatalf("failure %v, want %v", err, tc.failed)
			}
			if tr.Ephemeral(tc.i) != tc.ephemeral || tr.DataFrom(tc.i) != tc.from {
				t.Fatalf("ephemeral %v, from %v", tr.Ephemeral(tc.i), tr.DataFrom(tc.i))
			}
		})
	}
	if !tr.Referenced(0, kmip.OperationDecrypt) || tr.Referenced(1, kmip.OperationDecrypt) {
		t.Fatal("references of the decrypt's output")
	}
	// What ovh's 1.4 codec receives has neither field.
	var m kmip.RequestMessage
	if err := ttlv.UnmarshalTTLV(out, &m); err != nil {
		t.Fatal(err)
	}
	if again := ttlv.MarshalTTLV(&m); string(again) != string(out) {
		t.Fatal("the 1.4 message does not decode and re-encode to the same bytes")
	}
}
