package kmip

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// withID gives a batch item a Unique Batch Item ID.
func withID(it ttlv.Value, id byte) ttlv.Value {
	s := it.Value.(ttlv.Struct)
	out := ttlv.Struct{s[0], {Tag: kmip.TagUniqueBatchItemID, Value: []byte{id}}}
	return ttlv.Value{Tag: it.Tag, Value: append(out, s[1:]...)}
}

// TestV2PerItemTranslationFailures: a batch item the translation cannot
// translate fails alone, with its own Result Reason, its operation and its
// Unique Batch Item ID; the Batch Error Continuation Option decides whether
// the items after it run.
func TestV2PerItemTranslationFailures(t *testing.T) {
	r, mem := auditedRouter(t)
	objType := ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)}
	aes := ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
		{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
		{Tag: kmip.TagCryptographicLength, Value: int32(128)},
	}}
	good := item2(kmip.OperationCreate, objType, aes)
	unsupported := item2(kmip.OperationLocate, ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{{Tag: 0x420145, Value: ttlv.Enum(1)}}})
	hardware := item2(kmip.OperationCreate, objType, aes,
		ttlv.Value{Tag: kmip2.TagProtectionStorageMasks, Value: ttlv.Struct{{Tag: kmip2.TagProtectionStorageMask, Value: int32(2)}}})
	option := func(o kmip.BatchErrorContinuationOption) []ttlv.Value {
		return []ttlv.Value{{Tag: kmip.TagBatchErrorContinuationOption, Value: ttlv.Enum(o)}}
	}
	type answer struct {
		op     kmip.Operation
		id     byte
		status kmip.ResultStatus
		reason kmip.ResultReason
	}
	ok := kmip.ResultStatusSuccess
	fail := kmip.ResultStatusOperationFailed
	tests := []struct {
		name    string
		header  []ttlv.Value
		items   []ttlv.Value
		want    []answer
		wantOps []string // audit events
	}{
		{"continue runs the others", option(kmip.BatchErrorContinuationOptionContinue),
			[]ttlv.Value{withID(unsupported, 1), withID(good, 2), withID(hardware, 3), withID(good, 4)},
			[]answer{
				{kmip.OperationLocate, 1, fail, kmip2.ResultReasonUnsupportedAttribute},
				{kmip.OperationCreate, 2, ok, 0},
				{kmip.OperationCreate, 3, fail, kmip.ResultReasonFeatureNotSupported},
				{kmip.OperationCreate, 4, ok, 0},
			}, []string{"Locate", "Create", "Create", "Create"}},
		{"stop by default", nil,
			[]ttlv.Value{withID(good, 1), withID(unsupported, 2), withID(good, 3)},
			[]answer{
				{kmip.OperationCreate, 1, ok, 0},
				{kmip.OperationLocate, 2, fail, kmip2.ResultReasonUnsupportedAttribute},
			}, []string{"Create", "Locate"}},
		{"undo reverses the items before", option(kmip.BatchErrorContinuationOptionUndo),
			[]ttlv.Value{withID(good, 1), withID(unsupported, 2), withID(good, 3)},
			[]answer{
				{kmip.OperationCreate, 1, kmip.ResultStatusOperationUndone, 0},
				{kmip.OperationLocate, 2, fail, kmip2.ResultReasonUnsupportedAttribute},
			}, []string{"Create", "Locate", "Create"}}, // the third event: Create undone
		{"a derived attribute cannot be adjusted", nil,
			[]ttlv.Value{withID(adjust("1", ref(kmip2.TagShortUniqueIdentifier), kmip2.AdjustmentTypeIncrement, int32(1)), 1)},
			[]answer{{kmip2.OperationAdjustAttribute, 1, fail, kmip2.ResultReasonReadOnlyAttribute}},
			[]string{"AdjustAttribute"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem.Reset()
			resp := sendAs(t, r, Peer{}, message2(kmip.V2_1, tc.header, tc.items...))
			if v := responseVersion(resp); v != kmip.V2_1 {
				t.Fatalf("response version %v", v)
			}
			got := items(resp)
			if n, _ := find(sub(find(resp, kmip.TagResponseHeader)), kmip.TagBatchCount).Value.(int32); int(n) != len(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("batch count %d, %d items; want %d", n, len(got), len(tc.want))
			}
			for i, w := range tc.want {
				st, reason := status(t, got[i])
				op, _ := find(got[i], kmip.TagOperation).Value.(ttlv.Enum)
				bid, _ := find(got[i], kmip.TagUniqueBatchItemID).Value.([]byte)
				if kmip.Operation(op) != w.op || !bytes.Equal(bid, []byte{w.id}) || st != w.status || reason != w.reason {
					t.Errorf("item %d: %s %x %v %v; want %s %x %v %v", i, ttlv.EnumStr(kmip.Operation(op)), bid, st, ttlv.EnumStr(reason),
						ttlv.EnumStr(w.op), w.id, w.status, ttlv.EnumStr(w.reason))
				}
				if st == kmip.ResultStatusOperationFailed && find(got[i], kmip.TagResponsePayload) != nil {
					t.Errorf("item %d: a failed item has a payload", i)
				}
			}
			var ops []string
			for _, e := range mem.Events() {
				ops = append(ops, e.Operation)
			}
			if !slices.Equal(ops, tc.wantOps) {
				t.Fatalf("audited %v, want %v", ops, tc.wantOps)
			}
		})
	}
}
