package kmip

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

func TestAsynchronousPollCancel(t *testing.T) {
	r := newTestRouter(t)
	certA, certB := &x509.Certificate{Raw: []byte("async-a")}, &x509.Certificate{Raw: []byte("async-b")}
	send := func(t *testing.T, cert *x509.Certificate, async bool, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		t.Helper()
		msg := kmip.NewRequestMessage(kmip.V1_2, pl)
		if async {
			yes := true
			msg.Header.AsynchronousIndicator = &yes
		}
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), Peer{Certificate: cert, ConnID: 7}, ttlv.MarshalTTLV(&msg)), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.BatchItem) != 1 {
			t.Fatalf("%d items", len(resp.BatchItem))
		}
		return resp.BatchItem[0]
	}
	created := send(t, certA, false, aesCreate("async-key"))
	if created.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("create: %v %v", created.ResultStatus, created.ResultMessage)
	}
	locate := &payloads.LocateRequestPayload{Attribute: []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "async-key", NameType: kmip.NameTypeUninterpretedTextString}}}}
	pending := send(t, certA, true, locate)
	if pending.ResultStatus != kmip.ResultStatusOperationPending || len(pending.AsynchronousCorrelationValue) != 16 || pending.ResponsePayload != nil {
		t.Fatalf("async locate: %+v", pending)
	}
	t.Run("pending item carries no result reason", func(t *testing.T) {
		msg := kmip.NewRequestMessage(kmip.V1_2, locate)
		yes := true
		msg.Header.AsynchronousIndicator = &yes
		raw := r.HandleMessage(context.Background(), Peer{Certificate: certA, ConnID: 7}, ttlv.MarshalTTLV(&msg))
		var v ttlv.Value
		if err := ttlv.UnmarshalTTLV(raw, &v); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		for _, part := range v.Value.(ttlv.Struct) {
			if part.Tag != kmip.TagBatchItem {
				continue
			}
			for _, f := range part.Value.(ttlv.Struct) {
				if f.Tag == kmip.TagResultReason {
					t.Fatalf("pending item has a result reason")
				}
			}
		}
	})
	cv := pending.AsynchronousCorrelationValue

	steps := []struct {
		name  string
		cert  *x509.Certificate
		pl    kmip.OperationPayload
		check func(t *testing.T, it kmip.ResponseBatchItem)
	}{
		{"another client cannot poll", certB, &PollRequestPayload{AsynchronousCorrelationValue: cv}, func(t *testing.T, it kmip.ResponseBatchItem) {
			if it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonItemNotFound {
				t.Fatalf("got %v/%v", it.ResultStatus, it.ResultReason)
			}
		}},
		{"poll returns the located key", certA, &PollRequestPayload{AsynchronousCorrelationValue: cv}, func(t *testing.T, it kmip.ResponseBatchItem) {
			p, ok := it.ResponsePayload.(*payloads.LocateResponsePayload)
			if it.Operation != kmip.OperationLocate || it.ResultStatus != kmip.ResultStatusSuccess || !ok || len(p.UniqueIdentifier) != 1 {
				t.Fatalf("got %+v", it)
			}
		}},
		{"cancel of a polled operation", certA, &CancelRequestPayload{AsynchronousCorrelationValue: cv}, func(t *testing.T, it kmip.ResponseBatchItem) {
			p, ok := it.ResponsePayload.(*CancelResponsePayload)
			if !ok || p.CancellationResult != kmip.CancellationResultUnavailable {
				t.Fatalf("got %+v", it)
			}
		}},
		{"a result is polled once", certA, &PollRequestPayload{AsynchronousCorrelationValue: cv}, func(t *testing.T, it kmip.ResponseBatchItem) {
			if it.ResultReason != kmip.ResultReasonItemNotFound {
				t.Fatalf("got %v/%v", it.ResultStatus, it.ResultReason)
			}
		}},
		{"cancel of an unknown operation", certA, &CancelRequestPayload{AsynchronousCorrelationValue: []byte("nope")}, func(t *testing.T, it kmip.ResponseBatchItem) {
			p, ok := it.ResponsePayload.(*CancelResponsePayload)
			if !ok || p.CancellationResult != kmip.CancellationResultUnavailable {
				t.Fatalf("got %+v", it)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { s.check(t, send(t, s.cert, false, s.pl)) })
	}
	t.Run("cancel", func(t *testing.T) {
		cases := []struct {
			name string
			pl   kmip.OperationPayload
			want kmip.CancellationResult
		}{
			{"a pending read is canceled", locate, kmip.CancellationResultCanceled},
			{"a pending change has completed", aesCreate("async-created"), kmip.CancellationResultCompleted},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cv := send(t, certA, true, c.pl).AsynchronousCorrelationValue
				it := send(t, certA, false, &CancelRequestPayload{AsynchronousCorrelationValue: cv})
				if p, ok := it.ResponsePayload.(*CancelResponsePayload); !ok || p.CancellationResult != c.want {
					t.Fatalf("got %+v", it)
				}
				polled := send(t, certA, false, &PollRequestPayload{AsynchronousCorrelationValue: cv})
				if got := polled.ResultStatus == kmip.ResultStatusSuccess; got != (c.want == kmip.CancellationResultCompleted) {
					t.Fatalf("poll after cancel: %v/%v", polled.ResultStatus, polled.ResultReason)
				}
			})
		}
	})
	t.Run("query lists Poll and Cancel", func(t *testing.T) {
		ops := r.supportedOperations(kmip.V1_0)
		var poll, cancel bool
		for _, op := range ops {
			poll = poll || op == kmip.OperationPoll
			cancel = cancel || op == kmip.OperationCancel
		}
		if !poll || !cancel {
			t.Fatalf("operations %v", ops)
		}
	})
}
