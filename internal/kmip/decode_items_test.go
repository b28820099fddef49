package kmip

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// decodeItemsFixture builds the batch items of the per-item decoding tests
// in the shapes of version v (1.4 or 2.1).
type decodeItemsFixture struct{ v kmip.ProtocolVersion }

func (f decodeItemsFixture) v2() bool { return f.v.ProtocolVersionMajor == 2 }

// item is a batch item with a Unique Batch Item ID.
func (f decodeItemsFixture) item(op kmip.Operation, id byte, payload ...ttlv.Value) ttlv.Value {
	return ttlv.Value{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
		{Tag: kmip.TagOperation, Value: ttlv.Enum(op)},
		{Tag: kmip.TagUniqueBatchItemID, Value: []byte{id}},
		{Tag: kmip.TagRequestPayload, Value: ttlv.Struct(payload)},
	}}
}

// attrs is the template of a request: 2.x Attributes or 1.x
// Template-Attribute.
func (f decodeItemsFixture) attrs(alg kmip.CryptographicAlgorithm, length int32, mask kmip.CryptographicUsageMask) ttlv.Value {
	if f.v2() {
		s := ttlv.Struct{{Tag: kmip.TagCryptographicUsageMask, Value: int32(mask)}}
		if length != 0 {
			s = append(ttlv.Struct{
				{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(alg)},
				{Tag: kmip.TagCryptographicLength, Value: length},
			}, s...)
		}
		return ttlv.Value{Tag: kmip2.TagAttributes, Value: s}
	}
	attr := func(n kmip.AttributeName, v any) ttlv.Value {
		return ttlv.Value{Tag: kmip.TagAttribute, Value: ttlv.Struct{
			{Tag: kmip.TagAttributeName, Value: string(n)}, {Tag: kmip.TagAttributeValue, Value: v}}}
	}
	s := ttlv.Struct{attr(kmip.AttributeNameCryptographicUsageMask, int32(mask))}
	if length != 0 {
		s = append(ttlv.Struct{
			attr(kmip.AttributeNameCryptographicAlgorithm, ttlv.Enum(alg)),
			attr(kmip.AttributeNameCryptographicLength, length),
		}, s...)
	}
	return ttlv.Value{Tag: kmip.TagTemplateAttribute, Value: s}
}

// create is a Create of an AES key.
func (f decodeItemsFixture) create(id byte) ttlv.Value {
	return f.item(kmip.OperationCreate, id, ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		f.attrs(kmip.CryptographicAlgorithmAES, 128, kmip.CryptographicUsageEncrypt))
}

// lost is a Query whose payload holds a field the Query payload does not
// define: ovh's decoder would drop it, so the re-encode check refuses it.
func (f decodeItemsFixture) lost(id byte) ttlv.Value {
	return f.item(kmip.OperationQuery, id,
		ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(kmip.QueryFunctionOperations)},
		ttlv.Value{Tag: kmip.TagCertificateSubject, Value: "extra"})
}

// dsa is a Register of a Transparent DSA private key with generator g.
func (f decodeItemsFixture) dsa(id byte, g *big.Int) ttlv.Value {
	block := ttlv.Struct{
		{Tag: kmip.TagKeyFormatType, Value: ttlv.Enum(kmip.KeyFormatTypeTransparentDSAPrivateKey)},
		{Tag: kmip.TagKeyValue, Value: ttlv.Struct{{Tag: kmip.TagKeyMaterial, Value: ttlv.Struct{
			{Tag: kmip.TagP, Value: dsaInt(dsaP)}, {Tag: kmip.TagQ, Value: dsaInt(dsaQ)},
			{Tag: kmip.TagG, Value: g}, {Tag: kmip.TagX, Value: dsaInt(dsaX)},
		}}}},
		{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmDSA)},
		{Tag: kmip.TagCryptographicLength, Value: int32(512)},
	}
	return f.item(kmip.OperationRegister, id, ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypePrivateKey)},
		f.attrs(0, 0, kmip.CryptographicUsageSign),
		ttlv.Value{Tag: kmip.TagPrivateKey, Value: ttlv.Struct{{Tag: kmip.TagKeyBlock, Value: block}}})
}

// valueOf is the value of an item find returned, nil when absent.
func valueOf(v *ttlv.Value) any {
	if v == nil {
		return nil
	}
	return v.Value
}

// TestBatchItemsDecodedAlone: a batch item ovh's decoder refuses (a field
// the re-encode check finds lost, a Transparent DSA key that fails
// validation) fails alone, in 1.4 and in 2.1, with its operation, its
// Unique Batch Item ID and its reason; the Batch Error Continuation Option
// decides what becomes of the others.
func TestBatchItemsDecodedAlone(t *testing.T) {
	badG := big.NewInt(2)
	option := func(o kmip.BatchErrorContinuationOption) []ttlv.Value {
		return []ttlv.Value{{Tag: kmip.TagBatchErrorContinuationOption, Value: ttlv.Enum(o)}}
	}
	type answer struct {
		op     kmip.Operation
		status kmip.ResultStatus
		reason kmip.ResultReason
	}
	okay, fail, undone := kmip.ResultStatusSuccess, kmip.ResultStatusOperationFailed, kmip.ResultStatusOperationUndone
	tests := []struct {
		name    string
		header  []ttlv.Value
		items   func(f decodeItemsFixture) []ttlv.Value
		want    []answer
		wantOps []string // audit events
	}{
		{"continue runs the others", option(kmip.BatchErrorContinuationOptionContinue),
			func(f decodeItemsFixture) []ttlv.Value {
				return []ttlv.Value{f.create(1), f.lost(2), f.dsa(3, badG), f.dsa(4, dsaInt(dsaG)), f.create(5)}
			},
			[]answer{
				{kmip.OperationCreate, okay, 0},
				{kmip.OperationQuery, fail, kmip.ResultReasonInvalidMessage},
				{kmip.OperationRegister, fail, kmip.ResultReasonInvalidField},
				{kmip.OperationRegister, okay, 0},
				{kmip.OperationCreate, okay, 0},
			}, []string{"Create", "Query", "Register", "Register", "Create"}},
		{"stop by default", nil,
			func(f decodeItemsFixture) []ttlv.Value { return []ttlv.Value{f.create(1), f.dsa(2, badG), f.create(3)} },
			[]answer{
				{kmip.OperationCreate, okay, 0},
				{kmip.OperationRegister, fail, kmip.ResultReasonInvalidField},
			}, []string{"Create", "Register"}},
		{"undo reverses the items before", option(kmip.BatchErrorContinuationOptionUndo),
			func(f decodeItemsFixture) []ttlv.Value { return []ttlv.Value{f.create(1), f.lost(2), f.create(3)} },
			[]answer{
				{kmip.OperationCreate, undone, 0},
				{kmip.OperationQuery, fail, kmip.ResultReasonInvalidMessage},
			}, []string{"Create", "Query", "Create"}}, // the third event: Create undone
	}
	for _, v := range []kmip.ProtocolVersion{kmip.V1_4, kmip.V2_1} {
		f := decodeItemsFixture{v}
		for _, tc := range tests {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r, mem := auditedRouter(t)
				resp := sendAs(t, r, Peer{}, message2(v, tc.header, tc.items(f)...))
				if got := responseVersion(resp); got != v {
					t.Fatalf("response version %v", got)
				}
				got := items(resp)
				if n, _ := valueOf(find(sub(find(resp, kmip.TagResponseHeader)), kmip.TagBatchCount)).(int32); int(n) != len(tc.want) || len(got) != len(tc.want) {
					t.Fatalf("batch count %d, %d items; want %d", n, len(got), len(tc.want))
				}
				for i, w := range tc.want {
					st, reason := status(t, got[i])
					op, _ := valueOf(find(got[i], kmip.TagOperation)).(ttlv.Enum)
					bid, _ := valueOf(find(got[i], kmip.TagUniqueBatchItemID)).([]byte)
					if kmip.Operation(op) != w.op || !bytes.Equal(bid, []byte{byte(i + 1)}) || st != w.status || reason != w.reason {
						t.Errorf("item %d: %s %x %v %v; want %s %x %v %v", i, ttlv.EnumStr(kmip.Operation(op)), bid, st, ttlv.EnumStr(reason),
							ttlv.EnumStr(w.op), i+1, w.status, ttlv.EnumStr(w.reason))
					}
					if st == fail && find(got[i], kmip.TagResponsePayload) != nil {
						t.Errorf("item %d: a failed item has a payload", i)
					}
					msg, _ := valueOf(find(got[i], kmip.TagResultMessage)).(string)
					if w.op == kmip.OperationRegister && st == fail && !strings.Contains(msg, "Transparent DSA key: G") {
						t.Errorf("item %d: message %q does not name the refused key", i, msg)
					}
				}
				var ops []string
				for _, e := range mem.Events() {
					ops = append(ops, e.Operation)
				}
				if !slices.Equal(ops, tc.wantOps) {
					t.Fatalf("audited %v, want %v", ops, tc.wantOps)
				}
				if tc.want[0].status == undone {
					id, _ := valueOf(find(sub(find(got[0], kmip.TagResponsePayload)), kmip.TagUniqueIdentifier)).(string)
					if _, err := r.m.Get(context.Background(), id); !errors.Is(err, keys.ErrNotFound) {
						t.Fatalf("undone Create's key %q: %v, want not found", id, err)
					}
				}
			})
		}
	}
}

// TestBatchRefusedWhole: what is not one item's failure still refuses the
// whole message with one failed item (no operation), and no item runs.
func TestBatchRefusedWhole(t *testing.T) {
	header := func(v kmip.ProtocolVersion, count int32, extra ...ttlv.Value) ttlv.Value {
		h := ttlv.Struct{{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersionMajor, Value: v.ProtocolVersionMajor},
			{Tag: kmip.TagProtocolVersionMinor, Value: v.ProtocolVersionMinor},
		}}}
		h = append(h, extra...)
		return ttlv.Value{Tag: kmip.TagRequestHeader, Value: append(h, ttlv.Value{Tag: kmip.TagBatchCount, Value: count})}
	}
	message := func(h ttlv.Value, items ...ttlv.Value) []byte {
		return ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: append(ttlv.Struct{h}, items...)})
	}
	tests := []struct {
		name string
		msg  func(f decodeItemsFixture) []byte
	}{
		{"non-zero padding in an item", func(f decodeItemsFixture) []byte {
			raw := message(header(f.v, 2), f.create(1), f.lost(2))
			i := bytes.Index(raw, []byte("extra")) // "extra" is padded with three zero bytes
			raw[i+len("extra")] = 1
			return raw
		}},
		{"bytes after the message", func(f decodeItemsFixture) []byte {
			return append(message(header(f.v, 2), f.create(1), f.lost(2)), make([]byte, 8)...)
		}},
		{"batch count not the number of items", func(f decodeItemsFixture) []byte {
			return message(header(f.v, 3), f.create(1), f.lost(2))
		}},
		{"header field the decoder would lose", func(f decodeItemsFixture) []byte {
			return message(header(f.v, 2, ttlv.Value{Tag: kmip.TagCertificateSubject, Value: "extra"}), f.create(1), f.lost(2))
		}},
		{"item without an operation", func(f decodeItemsFixture) []byte {
			noOp := ttlv.Value{Tag: kmip.TagBatchItem, Value: ttlv.Struct{{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{}}}}
			return message(header(f.v, 3), f.create(1), f.lost(2), noOp)
		}},
		{"something other than a batch item", func(f decodeItemsFixture) []byte {
			return message(header(f.v, 2), f.create(1), f.lost(2), ttlv.Value{Tag: kmip.TagCertificateSubject, Value: "extra"})
		}},
	}
	for _, v := range []kmip.ProtocolVersion{kmip.V1_4, kmip.V2_1} {
		f := decodeItemsFixture{v}
		for _, tc := range tests {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r, mem := auditedRouter(t)
				resp := sendAs(t, r, Peer{}, tc.msg(f))
				got := items(resp)
				if len(got) != 1 {
					t.Fatalf("%d items, want one for the whole message", len(got))
				}
				st, reason := status(t, got[0])
				if st != kmip.ResultStatusOperationFailed || reason != kmip.ResultReasonInvalidMessage || find(got[0], kmip.TagOperation) != nil {
					t.Fatalf("answer %v %v, operation %v; want Invalid Message without an operation", st, ttlv.EnumStr(reason), find(got[0], kmip.TagOperation))
				}
				for _, e := range mem.Events() {
					if e.Operation == "Create" {
						t.Fatalf("an item ran: %+v", e)
					}
				}
			})
		}
	}
}
