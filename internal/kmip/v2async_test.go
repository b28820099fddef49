package kmip

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// asyncHeader is the request header field asking for asynchronous
// processing.
var asyncHeader = []ttlv.Value{{Tag: kmip.TagAsynchronousIndicator, Value: true}}

// pollItem and cancelItem are Poll and Cancel batch items.
func pollItem(cv []byte) ttlv.Value {
	return item2(kmip.OperationPoll, ttlv.Value{Tag: kmip.TagAsynchronousCorrelationValue, Value: cv})
}

func cancelItem(cv []byte) ttlv.Value {
	return item2(kmip.OperationCancel, ttlv.Value{Tag: kmip.TagAsynchronousCorrelationValue, Value: cv})
}

// getAttrsName is a 2.x Get Attributes of id's Name only.
func getAttrsName(id string) ttlv.Value {
	return item2(kmip.OperationGetAttributes,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
		ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagName)})
}

// one returns the only batch item of a response, checking its version.
func one(t *testing.T, resp ttlv.Struct, v kmip.ProtocolVersion) ttlv.Struct {
	t.Helper()
	if got := responseVersion(resp); got != v {
		t.Fatalf("response version %v, want %v", got, v)
	}
	it := items(resp)
	if len(it) != 1 {
		t.Fatalf("%d items, want 1", len(it))
	}
	return it[0]
}

// pendingCV checks that an item is Operation Pending, without a reason or
// payload, and returns its correlation value.
func pendingCV(t *testing.T, it ttlv.Struct) []byte {
	t.Helper()
	if st, _ := status(t, it); st != kmip.ResultStatusOperationPending {
		t.Fatalf("status %v, want Operation Pending", ttlv.EnumStr(st))
	}
	for _, tag := range []int{kmip.TagResultReason, kmip.TagResultMessage, kmip.TagResponsePayload} {
		if find(it, tag) != nil {
			t.Fatalf("pending item carries %s", ttlv.TagString(tag))
		}
	}
	cv, _ := find(it, kmip.TagAsynchronousCorrelationValue).Value.([]byte)
	if len(cv) != 16 {
		t.Fatalf("correlation value %x", cv)
	}
	return cv
}

// attrTags lists the tags inside a 2.x Get Attributes answer's Attributes.
func attrTags(it ttlv.Struct) []int {
	var tags []int
	for _, a := range sub(find(sub(find(it, kmip.TagResponsePayload)), kmip2.TagAttributes)) {
		tags = append(tags, a.Tag)
	}
	return tags
}

// TestV2Asynchronous: a 2.x request with the Asynchronous Indicator is
// answered Operation Pending; Poll returns the result as the synchronous
// answer would read, in the polling client's 2.x version, once, to the
// client that asked.
func TestV2Asynchronous(t *testing.T) {
	r := newTestRouter(t)
	certA, certB := &x509.Certificate{Raw: []byte("async2-a")}, &x509.Certificate{Raw: []byte("async2-b")}
	a, b := Peer{Certificate: certA, ConnID: 21}, Peer{Certificate: certB, ConnID: 22}
	id := create2(t, r, "async2-key")
	sync := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, getAttrsName(id))), kmip.V2_1)
	if got := attrTags(sync); len(got) != 1 || got[0] != kmip.TagName {
		t.Fatalf("synchronous Get Attributes answers %v", got)
	}

	t.Run("poll returns the held answer in 2.x form", func(t *testing.T) {
		cv := pendingCV(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, getAttrsName(id))), kmip.V2_1))
		got := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)
		if op, _ := find(got, kmip.TagOperation).Value.(ttlv.Enum); kmip.Operation(op) != kmip.OperationGetAttributes {
			t.Fatalf("polled operation %v", ttlv.EnumStr(kmip.Operation(op)))
		}
		if st, reason := status(t, got); st != kmip.ResultStatusSuccess {
			t.Fatalf("poll: %v %v", st, ttlv.EnumStr(reason))
		}
		// The Get Attributes named one attribute: the polled answer keeps
		// only it, as the synchronous one does (the held translation state).
		if tags := attrTags(got); len(tags) != 1 || tags[0] != kmip.TagName {
			t.Fatalf("polled Get Attributes answers %v", tags)
		}
		again := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)
		if st, reason := status(t, again); st != kmip.ResultStatusOperationFailed || reason != kmip2.ResultReasonInvalidAsynchronousCorrelationValue {
			t.Fatalf("second poll: %v %v", st, ttlv.EnumStr(reason))
		}
	})

	failures := []struct {
		name   string
		peer   Peer
		v      kmip.ProtocolVersion
		want   kmip.ResultReason
		stays  bool // the result can still be polled by its client in 2.1
		reason string
	}{
		{"another client cannot poll", b, kmip.V2_1, kmip2.ResultReasonInvalidAsynchronousCorrelationValue, true, ""},
		{"a 1.x client cannot poll a 2.x result", a, kmip.V1_4, kmip.ResultReasonItemNotFound, true, ""},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			cv := pendingCV(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, getAttrsName(id))), kmip.V2_1))
			it := one(t, sendAs(t, r, f.peer, message2(f.v, nil, pollItem(cv))), f.v)
			if st, reason := status(t, it); st != kmip.ResultStatusOperationFailed || reason != f.want {
				t.Fatalf("poll: %v %v, want %v", st, ttlv.EnumStr(reason), ttlv.EnumStr(f.want))
			}
			if st, reason := status(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)); st != kmip.ResultStatusSuccess {
				t.Fatalf("the result was lost: %v %v", st, ttlv.EnumStr(reason))
			}
		})
	}

	t.Run("a held failure keeps its 2.x reason", func(t *testing.T) {
		cv := pendingCV(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, getAttrsName("no-such-object"))), kmip.V2_1))
		got := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)
		if st, reason := status(t, got); st != kmip.ResultStatusOperationFailed || reason != kmip2.ResultReasonObjectNotFound {
			t.Fatalf("poll: %v %v, want Object Not Found", st, ttlv.EnumStr(reason))
		}
	})

	t.Run("a 2.0 client polls in 2.0", func(t *testing.T) {
		cv := pendingCV(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, getAttrsName(id))), kmip.V2_1))
		got := one(t, sendAs(t, r, a, message2(kmip.V2_0, nil, pollItem(cv))), kmip.V2_0)
		if tags := attrTags(got); len(tags) != 1 || tags[0] != kmip.TagName {
			t.Fatalf("polled Get Attributes answers %v", tags)
		}
	})

	t.Run("a 1.x result polled in 2.x reads as 2.x", func(t *testing.T) {
		msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetAttributesRequestPayload{UniqueIdentifier: id, AttributeName: []kmip.AttributeName{kmip.AttributeNameName}})
		yes := true
		msg.Header.AsynchronousIndicator = &yes
		cv := pendingCV(t, one(t, sendAs(t, r, a, ttlv.MarshalTTLV(&msg)), kmip.V1_4))
		got := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)
		if tags := attrTags(got); len(tags) != 1 || tags[0] != kmip.TagName {
			t.Fatalf("polled Get Attributes answers %v (want the 2.x Attributes structure)", tags)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		cases := []struct {
			name string
			item ttlv.Value
			want kmip.CancellationResult
		}{
			{"a pending read is canceled", getAttrsName(id), kmip.CancellationResultCanceled},
			{"a pending change has completed", item2(kmip.OperationActivate, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}), kmip.CancellationResultCompleted},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cv := pendingCV(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, c.item)), kmip.V2_1))
				it := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, cancelItem(cv))), kmip.V2_1)
				p := sub(find(it, kmip.TagResponsePayload))
				res, _ := find(p, kmip.TagCancellationResult).Value.(ttlv.Enum)
				if kmip.CancellationResult(res) != c.want || !bytes.Equal(find(p, kmip.TagAsynchronousCorrelationValue).Value.([]byte), cv) {
					t.Fatalf("cancel: %v", p)
				}
				polled := one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, pollItem(cv))), kmip.V2_1)
				if st, _ := status(t, polled); (st == kmip.ResultStatusSuccess) != (c.want == kmip.CancellationResultCompleted) {
					t.Fatalf("poll after cancel: %v", ttlv.EnumStr(st))
				}
			})
		}
	})

	t.Run("an ephemeral output is not held", func(t *testing.T) {
		if st, reason := status(t, one(t, sendAs(t, r, a, message2(kmip.V2_1, nil, item2(kmip.OperationActivate, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}))), kmip.V2_1)); st != kmip.ResultStatusSuccess && reason != kmip2.ResultReasonWrongKeyLifecycleState {
			t.Fatalf("activate: %v %v", st, ttlv.EnumStr(reason))
		}
		plain := []byte("asynchronous plaintext that stays in the server")
		ct := run1(t, r, kmip.OperationEncrypt, id, plain)
		resp := sendAs(t, r, a, message2(kmip.V2_1, asyncHeader, cipher2(kmip.OperationDecrypt, id, ct, true, 1)))
		cv := pendingCV(t, one(t, resp, kmip.V2_1))
		raw := r.HandleMessage(t.Context(), a, message2(kmip.V2_1, nil, pollItem(cv)))
		if bytes.Contains(raw, plain[:16]) {
			t.Fatal("the polled Ephemeral Decrypt returned the plaintext")
		}
		var v ttlv.Value
		if err := ttlv.UnmarshalTTLV(raw, &v); err != nil {
			t.Fatal(err)
		}
		if st, reason := status(t, one(t, sub(&v), kmip.V2_1)); st != kmip.ResultStatusSuccess {
			t.Fatalf("poll: %v %v", st, ttlv.EnumStr(reason))
		}
	})
}
