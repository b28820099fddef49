package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// TestAttributeNamesAndIndexes follows TC-171 (KMIP 1.1 attribute index
// handling): a repeated name in Get Attributes is an Invalid Message, and
// Modify Attribute of a single instance echoes no index.
func TestAttributeNamesAndIndexes(t *testing.T) {
	r := newTestRouter(t)
	msg := kmip.NewRequestMessage(kmip.V1_2, aesCreate("tc-171"))
	created := roundTrip(t, r, msg).BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload)
	id := created.UniqueIdentifier
	send := func(t *testing.T, v kmip.ProtocolVersion, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		t.Helper()
		return roundTrip(t, r, kmip.NewRequestMessage(v, pl)).BatchItem[0]
	}
	twice := &payloads.GetAttributesRequestPayload{UniqueIdentifier: id, AttributeName: []kmip.AttributeName{kmip.AttributeNameObjectType, kmip.AttributeNameObjectType}}
	tests := []struct {
		name string
		v    kmip.ProtocolVersion
		want kmip.ResultStatus
	}{
		{"1.2 refuses a repeated name", kmip.V1_2, kmip.ResultStatusOperationFailed},
		{"1.0 answers it", kmip.V1_0, kmip.ResultStatusSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := send(t, tc.v, twice)
			if it.ResultStatus != tc.want {
				t.Fatalf("got %v/%v, want %v", it.ResultStatus, it.ResultReason, tc.want)
			}
			if tc.want == kmip.ResultStatusOperationFailed && it.ResultReason != kmip.ResultReasonInvalidMessage {
				t.Fatalf("reason %v, want Invalid Message", it.ResultReason)
			}
		})
	}
	t.Run("modify with index 0 echoes no index", func(t *testing.T) {
		add := send(t, kmip.V1_2, &payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: kmip.Attribute{AttributeName: kmip.AttributeNameContactInformation, AttributeValue: "a@localhost"}})
		if add.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("add: %v %s", add.ResultReason, add.ResultMessage)
		}
		zero := int32(0)
		it := send(t, kmip.V1_2, &payloads.ModifyAttributeRequestPayload{UniqueIdentifier: id, Attribute: kmip.Attribute{AttributeName: kmip.AttributeNameContactInformation, AttributeIndex: &zero, AttributeValue: "b@localhost"}})
		p, ok := it.ResponsePayload.(*payloads.ModifyAttributeResponsePayload)
		if it.ResultStatus != kmip.ResultStatusSuccess || !ok {
			t.Fatalf("modify: %v %s", it.ResultReason, it.ResultMessage)
		}
		if p.Attribute.AttributeIndex != nil || p.Attribute.AttributeValue != "b@localhost" {
			t.Fatalf("attribute %+v", p.Attribute)
		}
	})
}
