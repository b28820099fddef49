package kmip

import (
	"bytes"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestStripPendingReasons(t *testing.T) {
	msg := func(items ...kmip.ResponseBatchItem) []byte {
		return ttlv.MarshalTTLV(&kmip.ResponseMessage{Header: kmip.ResponseHeader{ProtocolVersion: kmip.V1_2, BatchCount: int32(len(items))}, BatchItem: items})
	}
	pending := kmip.ResponseBatchItem{Operation: kmip.OperationLocate, ResultStatus: kmip.ResultStatusOperationPending, AsynchronousCorrelationValue: []byte("0123456789abcdef")}
	failed := kmip.ResponseBatchItem{Operation: kmip.OperationGet, ResultStatus: kmip.ResultStatusOperationFailed, ResultReason: kmip.ResultReasonItemNotFound}
	withPending := msg(failed, pending)
	tests := []struct {
		name      string
		in        []byte
		unchanged bool
	}{
		{"no pending item", msg(failed), true},
		{"truncated", withPending[:len(withPending)-3], true},
		{"empty", nil, true},
		{"pending item", withPending, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := stripPendingReasons(tc.in)
			if tc.unchanged {
				if !bytes.Equal(out, tc.in) {
					t.Fatal("changed a message it should leave alone")
				}
				return
			}
			if len(out) != len(tc.in)-16 {
				t.Fatalf("length %d, want %d", len(out), len(tc.in)-16)
			}
			var back kmip.ResponseMessage
			if err := ttlv.UnmarshalTTLV(out, &back); err != nil {
				t.Fatal(err)
			}
			if back.BatchItem[0].ResultReason != kmip.ResultReasonItemNotFound || back.BatchItem[1].ResultStatus != kmip.ResultStatusOperationPending ||
				!bytes.Equal(back.BatchItem[1].AsynchronousCorrelationValue, pending.AsynchronousCorrelationValue) {
				t.Fatalf("decoded %+v", back.BatchItem)
			}
		})
	}
}
