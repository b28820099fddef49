package kmiphttp

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// TestOperationPending: an asynchronous request is answered, in every
// encoding, with Operation Pending, an Asynchronous Correlation Value and
// no Result Reason (KMIP 1.x §6.7: the reason accompanies a failure only).
func TestOperationPending(t *testing.T) {
	f := start(t)
	async := true
	msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations}})
	msg.Header.AsynchronousIndicator = &async
	tests := []struct {
		name        string
		contentType string
		encode      func(any) []byte
		decode      func([]byte, any) error
		reasonName  []byte
	}{
		{"TTLV", ContentTypeTTLV, ttlv.MarshalTTLV, ttlv.UnmarshalTTLV, nil},
		{"XML", ContentTypeXML, ttlv.MarshalXML, ttlv.UnmarshalXML, []byte("ResultReason")},
		{"JSON", ContentTypeJSON, ttlv.MarshalJSON, ttlv.UnmarshalJSON, []byte("ResultReason")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, f.client, tc.contentType, tc.encode(&msg))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tc.reasonName != nil && bytes.Contains(body, tc.reasonName) {
				t.Errorf("pending answer carries a Result Reason:\n%s", body)
			}
			var out ttlv.Value
			if err := tc.decode(body, &out); err != nil {
				t.Fatalf("decode: %v\n%s", err, body)
			}
			root, _ := out.Value.(ttlv.Struct)
			var item ttlv.Struct
			for _, v := range root {
				if v.Tag == kmip.TagBatchItem {
					item, _ = v.Value.(ttlv.Struct)
				}
			}
			var status ttlv.Enum
			var correlation []byte
			for _, v := range item {
				switch v.Tag {
				case kmip.TagResultStatus:
					status, _ = v.Value.(ttlv.Enum)
				case kmip.TagAsynchronousCorrelationValue:
					correlation, _ = v.Value.([]byte)
				case kmip.TagResultReason, kmip.TagResultMessage, kmip.TagResponsePayload:
					t.Errorf("pending item carries %s", ttlv.TagString(v.Tag))
				}
			}
			if kmip.ResultStatus(status) != kmip.ResultStatusOperationPending || len(correlation) == 0 {
				t.Fatalf("status %v, correlation %x; want Operation Pending with a correlation value\n%s", status, correlation, body)
			}
		})
	}
}
