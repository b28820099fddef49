package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/usage"
)

// wantAuditRefusal fails unless a KMIP answer is the fail-closed refusal:
// Operation Failed, General Failure, no payload.
func wantAuditRefusal(t *testing.T, it kmip.ResponseBatchItem) {
	t.Helper()
	if it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonGeneralFailure ||
		!strings.Contains(it.ResultMessage, "audit") || it.ResponsePayload != nil {
		t.Fatalf("answer %v %v %q %T, want the audit refusal", it.ResultStatus, it.ResultReason, it.ResultMessage, it.ResponsePayload)
	}
}

// auditFailures reads keywarden_audit_failures_total by protocol.
func auditFailures(t *testing.T, f *deviceFleet) map[string]float64 {
	t.Helper()
	mfs, err := f.env.Server.Metrics().Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "keywarden_audit_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "protocol" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// TestAuditFailClosed: when events cannot be recorded, every front end
// refuses (and sends no key), the server keeps running, the refusals are
// counted, and service resumes once the trail records again. When the
// trail says beforehand that it cannot record, the work is not done.
func TestAuditFailClosed(t *testing.T) {
	f := newDeviceFleet(t)
	env, rec := f.env, f.rec
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	id := c.must(aesKey("failclosed-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	c.must(&payloads.ActivateRequestPayload{UniqueIdentifier: id})

	t.Run("record fails", func(t *testing.T) {
		rec.SetFail(true)
		defer rec.SetFail(false)
		t.Run("kmip Get sends no key", func(t *testing.T) {
			it, err := c.call(&payloads.GetRequestPayload{UniqueIdentifier: id})
			if err != nil {
				t.Fatal(err)
			}
			wantAuditRefusal(t, it)
		})
		t.Run("kmip Create", func(t *testing.T) {
			it, err := c.call(aesKey("failclosed-create"))
			if err != nil {
				t.Fatal(err)
			}
			wantAuditRefusal(t, it)
		})
		t.Run("device write", func(t *testing.T) {
			_, _, _, err := f.tape.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: f.tapeSN, WWN: f.tapeSN, Volser: "FCL001"})
			wantStatus(t, err, codec.StatusInternal)
		})
		t.Run("admin", func(t *testing.T) {
			a := adminCall(t, env, env.AdminTLS, "GET", "/v1/status", "")
			if a.status != http.StatusServiceUnavailable || !strings.Contains(string(a.body), "audit-unavailable") {
				t.Fatalf("status %d %s, want the audit refusal", a.status, a.body)
			}
		})
		t.Run("admin readiness", func(t *testing.T) {
			a := adminCall(t, env, env.AdminTLS, "GET", "/readyz", "")
			if a.status != http.StatusServiceUnavailable {
				t.Fatalf("readyz %d while the trail fails", a.status)
			}
		})
	})
	t.Run("refusals are counted", func(t *testing.T) {
		got := auditFailures(t, f)
		for _, p := range []string{"kmip", "device", "admin"} {
			if got[p] < 1 {
				t.Fatalf("keywarden_audit_failures_total = %v, want %s counted", got, p)
			}
		}
	})
	t.Run("service resumes", func(t *testing.T) {
		it := c.must(&payloads.GetRequestPayload{UniqueIdentifier: id}).(*payloads.GetResponsePayload)
		if len(material(it.Object)) != 32 {
			t.Fatal("no key after the trail recovered")
		}
		if _, _, _, err := f.tape.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: f.tapeSN, WWN: f.tapeSN, Volser: "FCL002"}); err != nil {
			t.Fatal(err)
		}
		if a := adminCall(t, env, env.AdminTLS, "GET", "/v1/status", ""); a.status != http.StatusOK {
			t.Fatalf("status %d %s", a.status, a.body)
		}
	})

	t.Run("trail not ready: no work done", func(t *testing.T) {
		rec.setReady(false)
		t.Run("kmip Create", func(t *testing.T) {
			it, err := c.call(aesKey("never-created"))
			if err != nil {
				t.Fatal(err)
			}
			wantAuditRefusal(t, it)
		})
		t.Run("device write", func(t *testing.T) {
			_, _, _, err := f.tape.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: f.tapeSN, WWN: f.tapeSN, Volser: "FCL003"})
			wantStatus(t, err, codec.StatusInternal)
		})
		t.Run("admin group create", func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"name": "NEVER_CREATED", "family": "GENERIC"})
			if a := adminCall(t, env, env.AdminTLS, "POST", "/v1/groups", string(body)); a.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d %s", a.status, a.body)
			}
		})
		rec.setReady(true)
		t.Run("nothing was created", func(t *testing.T) {
			found := c.must(&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{
				{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "never-created", NameType: kmip.NameTypeUninterpretedTextString}},
			}}).(*payloads.LocateResponsePayload).UniqueIdentifier
			if len(found) != 0 {
				t.Fatalf("a refused Create made %v", found)
			}
			if _, err := env.Server.Devices().Group("NEVER_CREATED"); err == nil {
				t.Fatal("a refused group create made the group")
			}
			recs, err := env.Server.Usage().Query(context.Background(), usage.Query{Volser: "FCL003"})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Outcome == usage.OutcomeOK {
					t.Fatalf("a refused write served a key: %+v", r)
				}
			}
		})
	})
}

// TestAuditServerStartStop: the server records its start before any
// request and its stop after the last.
func TestAuditServerStartStop(t *testing.T) {
	env, rec := startAudited(t)
	dialKMIP(t, env.KMIPAddr, env.AdminTLS).must(&payloads.DiscoverVersionsRequestPayload{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := env.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	evs := rec.Events()
	if len(evs) < 3 {
		t.Fatalf("events %s", dumpEvents(evs))
	}
	first, last := evs[0], evs[len(evs)-1]
	for _, e := range []struct {
		ev audit.Event
		op string
	}{{first, "start"}, {last, "stop"}} {
		if e.ev.Protocol != audit.ProtoServer || e.ev.Type != audit.TypeServer || e.ev.Operation != e.op ||
			e.ev.Outcome != audit.Success || e.ev.Node != "testenv" {
			t.Fatalf("%s event %+v", e.op, e.ev)
		}
	}
}
