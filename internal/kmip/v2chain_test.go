package kmip

import (
	"bytes"
	"context"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// cipher2 is an AES-CBC Encrypt or Decrypt item under key id; data is a
// byte string or a Data enumeration (an earlier item's output).
func cipher2(op kmip.Operation, id string, data any, ephemeral bool, batchID byte) ttlv.Value {
	it := ttlv.Struct{{Tag: kmip.TagOperation, Value: ttlv.Enum(op)}}
	if ephemeral {
		it = append(it, ttlv.Value{Tag: kmip2.TagEphemeral, Value: true})
	}
	it = append(it, ttlv.Value{Tag: kmip.TagUniqueBatchItemID, Value: []byte{batchID}},
		ttlv.Value{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{
			{Tag: kmip.TagUniqueIdentifier, Value: id},
			{Tag: kmip.TagCryptographicParameters, Value: ttlv.Struct{
				{Tag: kmip.TagBlockCipherMode, Value: ttlv.Enum(kmip.BlockCipherModeCBC)},
				{Tag: kmip.TagPaddingMethod, Value: ttlv.Enum(kmip.PaddingMethodPKCS5)},
			}},
			{Tag: kmip.TagData, Value: data},
			{Tag: kmip.TagIVCounterNonce, Value: bytes.Repeat([]byte{7}, 16)},
		}})
	return ttlv.Value{Tag: kmip.TagBatchItem, Value: it}
}

// run1 runs one 2.1 cipher item and returns its Data output.
func run1(t *testing.T, r *Router, op kmip.Operation, id string, data []byte) []byte {
	t.Helper()
	it := items(send2(t, r, kmip.V2_1, cipher2(op, id, data, false, 1)))[0]
	if st, reason := status(t, it); st != kmip.ResultStatusSuccess {
		t.Fatalf("%s: %v %v", ttlv.EnumStr(op), st, ttlv.EnumStr(reason))
	}
	out, _ := find(sub(find(it, kmip.TagResponsePayload)), kmip.TagData).Value.([]byte)
	return out
}

// TestV2ReEncrypt: an Ephemeral Decrypt under one key, then an Encrypt of
// its output under another (the 2.1 re-encryption of TC-REENCRYPT-1-21):
// the client receives the new ciphertext, never the plaintext.
func TestV2ReEncrypt(t *testing.T) {
	r := newTestRouter(t)
	key1, key2 := create2(t, r, "reencrypt-1"), create2(t, r, "reencrypt-2")
	for _, id := range []string{key1, key2} {
		it := items(send2(t, r, kmip.V2_1, item2(kmip.OperationActivate, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id})))[0]
		if st, reason := status(t, it); st != kmip.ResultStatusSuccess {
			t.Fatalf("activate: %v %v", st, ttlv.EnumStr(reason))
		}
	}
	plain := []byte("the plaintext that must stay inside the server")
	ct1 := run1(t, r, kmip.OperationEncrypt, key1, plain)
	fromDecrypt := ttlv.Enum(kmip2.DataDecrypt)

	t.Run("re-encrypt", func(t *testing.T) {
		raw := r.HandleMessage(context.Background(), Peer{}, message2(kmip.V2_1, nil,
			cipher2(kmip.OperationDecrypt, key1, ct1, true, 1),
			cipher2(kmip.OperationEncrypt, key2, fromDecrypt, false, 2)))
		if bytes.Contains(raw, plain[:16]) {
			t.Fatal("the plaintext left the server")
		}
		var resp ttlv.Value
		if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
			t.Fatal(err)
		}
		got := items(sub(&resp))
		if len(got) != 2 {
			t.Fatalf("%d items", len(got))
		}
		for i, it := range got {
			if st, reason := status(t, it); st != kmip.ResultStatusSuccess {
				t.Fatalf("item %d: %v %v", i, st, ttlv.EnumStr(reason))
			}
		}
		if p := find(got[0], kmip.TagResponsePayload); p == nil || len(sub(p)) != 0 {
			t.Fatalf("ephemeral decrypt answered %v, want an empty payload", p)
		}
		enc := sub(find(got[1], kmip.TagResponsePayload))
		ct2, _ := find(enc, kmip.TagData).Value.([]byte)
		if text(enc, kmip.TagUniqueIdentifier) != key2 || len(ct2) == 0 || bytes.Equal(ct2, ct1) {
			t.Fatalf("encrypt answered %v", enc)
		}
		if back := run1(t, r, kmip.OperationDecrypt, key2, ct2); !bytes.Equal(back, plain) {
			t.Fatalf("key 2 decrypts to %q", back)
		}
	})

	refusals := []struct {
		name       string
		header     []ttlv.Value
		items      []ttlv.Value
		wantReason []kmip.ResultReason // per item; zero: success
	}{
		{"no earlier output", nil, []ttlv.Value{cipher2(kmip.OperationEncrypt, key2, fromDecrypt, false, 1)},
			[]kmip.ResultReason{kmip.ResultReasonInvalidField}},
		{"the decrypt failed", []ttlv.Value{{Tag: kmip.TagBatchErrorContinuationOption, Value: ttlv.Enum(kmip.BatchErrorContinuationOptionContinue)}},
			[]ttlv.Value{cipher2(kmip.OperationDecrypt, "nope", ct1, true, 1), cipher2(kmip.OperationEncrypt, key2, fromDecrypt, false, 2)},
			[]kmip.ResultReason{kmip2.ResultReasonObjectNotFound, kmip.ResultReasonInvalidField}},
		{"an output the server does not chain", nil, []ttlv.Value{cipher2(kmip.OperationEncrypt, key2, ttlv.Enum(3), false, 1)},
			[]kmip.ResultReason{kmip.ResultReasonFeatureNotSupported}},
		{"into a key that does not exist", nil,
			[]ttlv.Value{cipher2(kmip.OperationDecrypt, key1, ct1, true, 1), cipher2(kmip.OperationEncrypt, "nope", fromDecrypt, false, 2)},
			[]kmip.ResultReason{0, kmip2.ResultReasonObjectNotFound}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			raw := r.HandleMessage(context.Background(), Peer{}, message2(kmip.V2_1, tc.header, tc.items...))
			if bytes.Contains(raw, plain[:16]) {
				t.Fatal("the plaintext left the server")
			}
			var resp ttlv.Value
			if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
				t.Fatal(err)
			}
			got := items(sub(&resp))
			if len(got) != len(tc.wantReason) {
				t.Fatalf("%d items, want %d", len(got), len(tc.wantReason))
			}
			for i, want := range tc.wantReason {
				st, reason := status(t, got[i])
				if reason != want || want == 0 && st != kmip.ResultStatusSuccess {
					t.Errorf("item %d: %v %v, want %v", i, st, ttlv.EnumStr(reason), ttlv.EnumStr(want))
				}
			}
		})
	}
}
