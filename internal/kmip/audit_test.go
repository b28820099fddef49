package kmip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/pki"
)

// auditedRouter is a test router that records to a Memory.
func auditedRouter(t testing.TB) (*Router, *audit.Memory) {
	t.Helper()
	mem := &audit.Memory{}
	r := newTestRouter(t)
	WithAudit(mem, "node-1")(r)
	return r, mem
}

func selfSigned(t testing.TB) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuditOneEventPerAnsweredItem(t *testing.T) {
	cert := selfSigned(t)
	peer := Peer{RemoteAddr: "192.0.2.1:4000", Certificate: cert, ConnID: 1}
	tests := []struct {
		name     string
		items    []kmip.OperationPayload
		cont     kmip.BatchErrorContinuationOption
		want     []audit.Outcome
		wantOps  []string
		objectOf int // index of the event whose object must be the created id; -1 none
	}{
		{name: "create then get by placeholder",
			items:   []kmip.OperationPayload{aesCreate("batch-key"), &payloads.GetRequestPayload{}},
			want:    []audit.Outcome{audit.Success, audit.Success},
			wantOps: []string{"Create", "Get"}, objectOf: 1},
		{name: "a failed item stops the batch",
			items:   []kmip.OperationPayload{&payloads.GetRequestPayload{UniqueIdentifier: "missing"}, aesCreate("never")},
			want:    []audit.Outcome{audit.Failure},
			wantOps: []string{"Get"}, objectOf: -1},
		{name: "continue answers every item",
			items: []kmip.OperationPayload{&payloads.GetRequestPayload{UniqueIdentifier: "missing"}, aesCreate("cont-key")},
			cont:  kmip.BatchErrorContinuationOptionContinue,
			want:  []audit.Outcome{audit.Failure, audit.Success}, wantOps: []string{"Get", "Create"}, objectOf: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, mem := auditedRouter(t)
			msg := kmip.NewRequestMessage(kmip.V1_4, tt.items...)
			if tt.cont != 0 {
				msg.Header.BatchErrorContinuationOption = tt.cont
			}
			raw := r.HandleMessage(context.Background(), peer, ttlv.MarshalTTLV(&msg))
			var resp kmip.ResponseMessage
			if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
				t.Fatal(err)
			}
			evs := mem.Events()
			if len(evs) != len(tt.want) || len(resp.BatchItem) != len(tt.want) {
				t.Fatalf("%d events, %d answered items; want %d", len(evs), len(resp.BatchItem), len(tt.want))
			}
			for i, e := range evs {
				if e.Outcome != tt.want[i] || e.Operation != tt.wantOps[i] || e.Node != "node-1" ||
					e.Remote != peer.RemoteAddr || e.Client.Fingerprint != pki.Fingerprint(cert) || e.Client.Name != "bench-client" {
					t.Fatalf("event %d: %+v", i, e)
				}
			}
			if tt.objectOf >= 0 {
				id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
				if got := evs[tt.objectOf].Objects; len(got) != 1 || got[0] != id {
					t.Fatalf("objects %v, want [%s]", got, id)
				}
			}
		})
	}
}

func TestAuditRecordFailureRefusesTheItem(t *testing.T) {
	r, mem := auditedRouter(t)
	mem.SetFail(true)
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, aesCreate("refused"), &payloads.GetRequestPayload{}))
	if len(resp.BatchItem) != 1 {
		t.Fatalf("%d items answered, want the batch stopped at the refusal", len(resp.BatchItem))
	}
	it := resp.BatchItem[0]
	if it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonGeneralFailure ||
		it.ResultMessage != errAuditUnavailable.Message || it.ResponsePayload != nil {
		t.Fatalf("answer %+v", it)
	}
	mem.SetFail(false)
	resp = roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, &payloads.DiscoverVersionsRequestPayload{}))
	if resp.BatchItem[0].ResultStatus != kmip.ResultStatusSuccess {
		t.Fatal("not served after the trail recovered")
	}
}

// countingRecorder counts events: the cost of the hook alone.
type countingRecorder struct{ n atomic.Int64 }

func (c *countingRecorder) Record(context.Context, audit.Event) error {
	c.n.Add(1)
	return nil
}

// BenchmarkGetAudit compares Get through the router without audit and
// with a recorder that only counts: the front end's share of the audit
// cost (the trail's own is measured with the trail).
func BenchmarkGetAudit(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			r := newTestRouter(b)
			if on {
				WithAudit(&countingRecorder{}, "bench")(r)
			}
			peer := Peer{RemoteAddr: "192.0.2.1:4000", Certificate: selfSigned(b), ConnID: 1}
			create := kmip.NewRequestMessage(kmip.V1_4, aesCreate("bench-key"))
			var resp kmip.ResponseMessage
			if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), peer, ttlv.MarshalTTLV(&create)), &resp); err != nil {
				b.Fatal(err)
			}
			id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
			get := ttlv.MarshalTTLV(kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: id}))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.HandleMessage(context.Background(), peer, append([]byte(nil), get...))
			}
		})
	}
}
