package kmip

import (
	"context"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
)

func newTestRouter(t testing.TB) *Router {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	m, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	return NewRouter(m, nil)
}

// roundTrip sends a request message through the router and decodes the answer.
func roundTrip(t *testing.T, r *Router, msg kmip.RequestMessage) kmip.ResponseMessage {
	t.Helper()
	raw := r.HandleMessage(context.Background(), Peer{}, ttlv.MarshalTTLV(&msg))
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

func aesCreate(name string) *payloads.CreateRequestPayload {
	return &payloads.CreateRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey, TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}}}
}

func TestBatchPlaceholderAndStop(t *testing.T) {
	r := newTestRouter(t)
	msg := kmip.NewRequestMessage(kmip.V1_4,
		aesCreate("b1"),
		&payloads.ActivateRequestPayload{},
		&payloads.DestroyRequestPayload{}, // fails: Active
		&payloads.GetRequestPayload{},     // not run: Stop is the default
	)
	resp := roundTrip(t, r, msg)
	if len(resp.BatchItem) != 3 {
		t.Fatalf("got %d items, want 3 (stop after the failure)", len(resp.BatchItem))
	}
	id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	if got := resp.BatchItem[1].ResponsePayload.(*payloads.ActivateResponsePayload).UniqueIdentifier; got != id {
		t.Fatalf("placeholder not used: %q vs %q", got, id)
	}
	if it := resp.BatchItem[2]; it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonPermissionDenied {
		t.Fatalf("destroy of an active key: %v %v", it.ResultStatus, it.ResultReason)
	}

	msg = kmip.NewRequestMessage(kmip.V1_4, &payloads.DestroyRequestPayload{UniqueIdentifier: "nope"}, &payloads.GetRequestPayload{UniqueIdentifier: id})
	msg.Header.BatchErrorContinuationOption = kmip.BatchErrorContinuationOptionContinue
	resp = roundTrip(t, r, msg)
	if len(resp.BatchItem) != 2 || resp.BatchItem[0].ResultReason != kmip.ResultReasonItemNotFound || resp.BatchItem[1].ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("continue option: %+v", resp.BatchItem)
	}
	if got := string(resp.BatchItem[0].UniqueBatchItemID); got != string(msg.BatchItem[0].UniqueBatchItemID) {
		t.Fatalf("unique batch item id not echoed")
	}
}

func TestVersionNegotiation(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name string
		req  kmip.ProtocolVersion
		want kmip.ProtocolVersion
	}{
		{"1.0 stays 1.0", kmip.V1_0, kmip.V1_0},
		{"1.2 stays 1.2", kmip.V1_2, kmip.V1_2},
		{"1.9 gets the highest", kmip.ProtocolVersion{ProtocolVersionMajor: 1, ProtocolVersionMinor: 9}, kmip.V1_4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := roundTrip(t, r, kmip.NewRequestMessage(tc.req, &payloads.DiscoverVersionsRequestPayload{}))
			if resp.Header.ProtocolVersion != tc.want {
				t.Fatalf("response version %v, want %v", resp.Header.ProtocolVersion, tc.want)
			}
		})
	}
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, &payloads.DiscoverVersionsRequestPayload{}))
	got := resp.BatchItem[0].ResponsePayload.(*payloads.DiscoverVersionsResponsePayload).ProtocolVersion
	// 2.x first (served through the translation in v2.go), then 1.4 to 1.0.
	if len(got) != 7 || got[0] != kmip.V2_1 || got[2] != kmip.V1_4 || got[6] != kmip.V1_0 {
		t.Fatalf("discover versions = %v", got)
	}
}

func TestOldClientNeverSeesNewAttributes(t *testing.T) {
	r := newTestRouter(t)
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_0, aesCreate("old")))
	id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	resp = roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_0, &payloads.GetAttributesRequestPayload{UniqueIdentifier: id}))
	for _, a := range resp.BatchItem[0].ResponsePayload.(*payloads.GetAttributesResponsePayload).Attribute {
		if !keys.KnownInVersion(a.AttributeName, 0) {
			t.Errorf("KMIP 1.0 client received %q", a.AttributeName)
		}
	}
}

func TestRejectsWhatItCannotInterpret(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name   string
		msg    []byte
		reason kmip.ResultReason
	}{
		{"garbage", []byte("not a kmip message at all"), kmip.ResultReasonInvalidMessage},
		{"unknown field in a payload", withExtraField(t), kmip.ResultReasonInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := r.HandleMessage(context.Background(), Peer{}, tc.msg)
			var resp kmip.ResponseMessage
			if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
				t.Fatal(err)
			}
			if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != tc.reason {
				t.Fatalf("got %v/%v, want failure %v", it.ResultStatus, it.ResultReason, tc.reason)
			}
		})
	}
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, kmip.NewUnknownPayload(kmip.OperationValidate)))
	if resp.BatchItem[0].ResultReason != kmip.ResultReasonOperationNotSupported {
		t.Fatalf("validate: %v", resp.BatchItem[0].ResultReason)
	}
}

// withExtraField encodes a Get request whose payload carries a field the
// Get payload does not define; the ovh decoder would drop it silently.
func withExtraField(t *testing.T) []byte {
	msg := kmip.NewRequestMessage(kmip.V1_4, kmip.NewUnknownPayload(kmip.OperationGet,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "x"},
		ttlv.Value{Tag: kmip.TagCertificateSubject, Value: "extra"},
	))
	return ttlv.MarshalTTLV(&msg)
}
