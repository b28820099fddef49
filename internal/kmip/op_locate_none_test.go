package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// TestLocateNoneEmptiesPlaceholder: after a Locate that finds nothing, an
// item relying on the ID placeholder gets Item Not Found (vectors TC_152),
// even when an earlier item had set the placeholder; Missing Data stays
// the answer when nothing set it.
func TestLocateNoneEmptiesPlaceholder(t *testing.T) {
	r := newTestRouter(t)
	key := registerSymmetric(t, r, make([]byte, 16), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	group := kmip.Attribute{AttributeName: kmip.AttributeNameObjectGroup, AttributeValue: "nobody-uses-this"}
	byName := func(n string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameUniqueIdentifier, AttributeValue: n}
	}
	tests := []struct {
		name  string
		items []kmip.OperationPayload
		// want is the result of the last item: 0 for success.
		want kmip.ResultReason
	}{
		{"locate found nothing", []kmip.OperationPayload{
			&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{group}},
			&payloads.GetRequestPayload{},
		}, kmip.ResultReasonItemNotFound},
		{"locate found nothing after a placeholder was set", []kmip.OperationPayload{
			&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{byName(key)}},
			&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{group}},
			&payloads.GetRequestPayload{},
		}, kmip.ResultReasonItemNotFound},
		{"locate found the key", []kmip.OperationPayload{
			&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{byName(key)}},
			&payloads.GetRequestPayload{},
		}, 0},
		{"nothing set the placeholder", []kmip.OperationPayload{
			&payloads.GetRequestPayload{},
		}, kmip.ResultReasonMissingData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := kmip.NewRequestMessage(kmip.V1_4, tc.items...)
			resp := roundTrip(t, r, msg)
			last := resp.BatchItem[len(resp.BatchItem)-1]
			switch {
			case tc.want == 0 && last.ResultStatus != kmip.ResultStatusSuccess:
				t.Fatalf("last item: %s: %s", ttlv.EnumStr(last.ResultReason), last.ResultMessage)
			case tc.want != 0 && (last.ResultStatus == kmip.ResultStatusSuccess || last.ResultReason != tc.want):
				t.Fatalf("last item: %s/%s, want %s", ttlv.EnumStr(last.ResultStatus), ttlv.EnumStr(last.ResultReason), ttlv.EnumStr(tc.want))
			}
		})
	}
}
