package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// TestSplitJoinV21: a KMIP 2.1 client splits and joins through the
// translation, its Attributes structure standing for the Template-Attribute.
func TestSplitJoinV21(t *testing.T) {
	r := newTestRouter(t)
	base := create2(t, r, "split-2.1")
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationCreateSplitKey,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSplitKey)},
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: base},
		ttlv.Value{Tag: kmip.TagSplitKeyParts, Value: int32(3)},
		ttlv.Value{Tag: kmip.TagSplitKeyThreshold, Value: int32(2)},
		ttlv.Value{Tag: kmip.TagSplitKeyMethod, Value: ttlv.Enum(kmip.SplitKeyMethodPolynomialSharingGF28)},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{}},
	))
	it := items(resp)
	if len(it) != 1 {
		t.Fatalf("got %d items", len(it))
	}
	if st, reason := status(t, it[0]); st != kmip.ResultStatusSuccess {
		t.Fatalf("create split key: %v %v", st, reason)
	}
	var parts []ttlv.Value
	for _, v := range sub(find(it[0], kmip.TagResponsePayload)) {
		if v.Tag == kmip.TagUniqueIdentifier {
			parts = append(parts, v)
		}
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	resp = send2(t, r, kmip.V2_1, item2(kmip.OperationJoinSplitKey,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		parts[2], parts[0],
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
		}},
	))
	if st, reason := status(t, items(resp)[0]); st != kmip.ResultStatusSuccess {
		t.Fatalf("join split key: %v %v", st, reason)
	}
}
