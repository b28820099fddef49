package kmip

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

func TestMaximumResponseSize(t *testing.T) {
	r := newTestRouter(t)
	query := &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations, kmip.QueryFunctionObjects}}
	tests := []struct {
		name    string
		max     int32
		tooLong bool
	}{
		{"no limit", 0, false},
		{"large enough", 1 << 20, false},
		{"too small", 64, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := kmip.NewRequestMessage(kmip.V1_2, query)
			msg.Header.MaximumResponseSize = tc.max
			resp := roundTrip(t, r, msg)
			if len(resp.BatchItem) != 1 || resp.Header.BatchCount != 1 {
				t.Fatalf("got %d items, batch count %d", len(resp.BatchItem), resp.Header.BatchCount)
			}
			it := resp.BatchItem[0]
			if it.Operation != kmip.OperationQuery {
				t.Errorf("operation = %v", it.Operation)
			}
			switch {
			case tc.tooLong && (it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonResponseTooLarge || it.ResponsePayload != nil):
				t.Errorf("got %v/%v with payload %v, want Response Too Large and no payload", it.ResultStatus, it.ResultReason, it.ResponsePayload != nil)
			case !tc.tooLong && it.ResultStatus != kmip.ResultStatusSuccess:
				t.Errorf("got %v/%v, want success", it.ResultStatus, it.ResultReason)
			}
		})
	}
}
