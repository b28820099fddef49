package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
)

// headAnchor keeps the chain head in memory.
type headAnchor struct{ h audit.Head }

func (a *headAnchor) Load(context.Context) (audit.Head, error)    { return a.h, nil }
func (a *headAnchor) Store(_ context.Context, h audit.Head) error { a.h = h; return nil }

// auditHandler returns a handler over a real trail holding n key events
// (volsers VOL001…) and the trail's directory.
func auditHandler(t *testing.T, n int) (*Handler, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	tr, err := audit.Open(context.Background(), audit.Config{Dir: dir, ChainKey: bytes.Repeat([]byte{7}, 16), Anchor: &headAnchor{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	for i := 1; i <= n; i++ {
		out := audit.Success
		if i%2 == 0 {
			out = audit.Denied
		}
		e := audit.Event{Time: time.Date(2026, 11, 25, 12, 0, i, 0, time.UTC), Type: audit.TypeKey, Protocol: audit.ProtoDevice,
			Operation: "write-key", Client: audit.Client{DeviceID: "drive-1"}, Volser: "VOL00" + string(rune('0'+i)), Outcome: out}
		if err := tr.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return &Handler{cfg: Config{AuditTrail: tr, Now: time.Now}, log: slog.New(slog.DiscardHandler)}, dir
}

// serve runs one handler method on a request for target.
func serve(t *testing.T, fn func(*Handler, http.ResponseWriter, *call) error, h *Handler, method, target string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, target, nil)
	return w, fn(h, w, &call{r: r, ctx: context.Background()})
}

func TestSearchAuditRoute(t *testing.T) {
	h, _ := auditHandler(t, 5)
	tests := []struct {
		name    string
		query   string
		volsers []string
		status  int // of a request error; 0 when it succeeds
	}{
		{"all", "", []string{"VOL001", "VOL002", "VOL003", "VOL004", "VOL005"}, 0},
		{"volser", "?volser=VOL003", []string{"VOL003"}, 0},
		{"outcome", "?outcome=denied", []string{"VOL002", "VOL004"}, 0},
		{"time range", "?since=2026-11-25T12:00:02Z&until=2026-11-25T12:00:03Z", []string{"VOL002", "VOL003"}, 0},
		{"device and limit", "?device=drive-1&limit=2", []string{"VOL004", "VOL005"}, 0},
		{"type", "?type=auth", nil, 0},
		{"bad time", "?since=yesterday", nil, 400},
		{"bad outcome", "?outcome=ok", nil, 400},
		{"bad type", "?type=all", nil, 400},
		{"bad limit", "?limit=-1", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := serve(t, (*Handler).searchAudit, h, "GET", "/v1/audit"+tt.query)
			if tt.status != 0 {
				if p, _ := problemFor(err); p.Status != tt.status {
					t.Fatalf("error %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var recs []audit.Record
			if err := json.Unmarshal(w.Body.Bytes(), &recs); err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tt.volsers) {
				t.Fatalf("%d records, want %v: %s", len(recs), tt.volsers, w.Body)
			}
			for i, r := range recs {
				if r.Volser != tt.volsers[i] || r.MAC == "" {
					t.Fatalf("record %d: %+v, want %s", i, r, tt.volsers[i])
				}
			}
		})
	}
}

func TestVerifyAuditRoute(t *testing.T) {
	h, dir := auditHandler(t, 3)
	w, err := serve(t, (*Handler).verifyAudit, h, "POST", "/v1/audit/verify")
	if err != nil {
		t.Fatal(err)
	}
	var v AuditVerification
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || !v.OK || v.Records != 3 || v.Problem != nil {
		t.Fatalf("verify: %s, %v", w.Body, err)
	}
	// Alter the second record: verify answers 200, ok false, naming it.
	path := filepath.Join(dir, audit.DefaultName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte("VOL002"), []byte("VOL00X"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err = serve(t, (*Handler).verifyAudit, h, "POST", "/v1/audit/verify")
	if err != nil {
		t.Fatal(err)
	}
	v = AuditVerification{}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.OK || v.Problem == nil {
		t.Fatalf("verify of an altered trail: %s, %v", w.Body, err)
	}
	if p := v.Problem; p.Kind != audit.KindAltered || p.Line != 2 || p.Seq != 2 || p.File != audit.DefaultName {
		t.Fatalf("problem %+v, want altered at %s line 2 seq 2", p, audit.DefaultName)
	}
}

func TestAuditRoutesWithoutTrail(t *testing.T) {
	h := &Handler{cfg: Config{}, log: slog.New(slog.DiscardHandler)}
	for _, fn := range []func(*Handler, http.ResponseWriter, *call) error{(*Handler).searchAudit, (*Handler).verifyAudit} {
		_, err := serve(t, fn, h, "GET", "/v1/audit")
		if p, _ := problemFor(err); p.Status != http.StatusNotFound {
			t.Fatalf("without a trail: %v, want 404", err)
		}
	}
}

func TestAuditRoutesRoles(t *testing.T) {
	found := 0
	for _, rt := range Routes() {
		if rt.Pattern != "/v1/audit" && rt.Pattern != "/v1/audit/verify" {
			continue
		}
		found++
		if len(rt.Roles) != 2 || rt.Roles[0] != "admin" || rt.Roles[1] != "auditor" {
			t.Errorf("%s %s: roles %v, want admin and auditor", rt.Method, rt.Pattern, rt.Roles)
		}
	}
	if found != 2 {
		t.Fatalf("%d audit routes in the table, want GET /v1/audit and POST /v1/audit/verify", found)
	}
}

func TestAuditSinkFailureMetric(t *testing.T) {
	m, err := NewMetrics(MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.AuditSinkFailed(audit.SinkFile)
	m.AuditSinkFailed(audit.SinkFile)
	m.AuditSinkFailed(audit.SinkAnchor)
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "keywarden_audit_sink_failures_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			got[mt.GetLabel()[0].GetValue()] = mt.GetCounter().GetValue()
		}
	}
	if got[audit.SinkFile] != 2 || got[audit.SinkAnchor] != 1 {
		t.Fatalf("keywarden_audit_sink_failures_total = %v", got)
	}
	var nilMetrics *Metrics
	nilMetrics.AuditSinkFailed(audit.SinkSyslog) // a nil *Metrics records nothing
}

// TestRouteTypeOfKeyMaterial: every route that moves key material in or out
// of the server is audited as a key event, whatever else it does.
func TestRouteTypeOfKeyMaterial(t *testing.T) {
	want := map[string]audit.Type{
		"label.create": audit.TypeKey, "label.import": audit.TypeKey, "keygroup.create": audit.TypeKey,
		"label.export-key": audit.TypeKey, "label.export-bundle": audit.TypeKey,
		"label.import-bundle": audit.TypeKey, "migrate.import": audit.TypeKey,
		"key.destroy": audit.TypeLifecycle, "cert.revoke": audit.TypeDevice, "label.list": audit.TypeQuery,
	}
	seen := 0
	for i := range routeTable {
		rt := &routeTable[i]
		w, ok := want[rt.name]
		if !ok {
			continue
		}
		seen++
		t.Run(rt.name, func(t *testing.T) {
			if got := routeType(rt); got != w {
				t.Fatalf("routeType(%s) = %v, want %v", rt.name, got, w)
			}
		})
	}
	if seen != len(want) {
		t.Fatalf("found %d of the %d routes named", seen, len(want))
	}
}
