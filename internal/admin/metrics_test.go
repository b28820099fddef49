package admin_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// scrape fetches /metrics and returns every sample line as name{labels}
// → value.
func scrape(t *testing.T, env *testenv.Env) map[string]float64 {
	t.Helper()
	a := call(t, env, env.AdminTLS, "GET", "/metrics", nil)
	mustStatus(t, a, http.StatusOK, "GET /metrics")
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	env := testenv.Start(t)
	auditor := env.IssueClient(t, "aud-1", pki.RoleAuditor)
	for range 3 {
		mustStatus(t, call(t, env, env.AdminTLS, "GET", "/v1/groups", nil), 200, "list groups")
	}
	mustStatus(t, call(t, env, auditor, "POST", "/v1/groups", map[string]any{"name": "X", "family": "3592"}), 403, "auditor creates")
	mustStatus(t, call(t, env, env.AdminTLS, "GET", "/v1/devices/nosuch", nil), 404, "unknown device")
	env.Server.Metrics().ObserveRequest("kmip", "Get", "ok", 3e6) // as the KMIP front end reports
	env.Server.Metrics().ConnProbed("device")                     // as the device listener reports a TCP health probe

	m := scrape(t, env)
	tests := []struct {
		sample string
		check  func(float64) bool
		want   string
	}{
		{`keywarden_requests_total{operation="group.list",outcome="ok",protocol="admin"}`, eq(3), "3"},
		{`keywarden_requests_total{operation="group.create",outcome="denied",protocol="admin"}`, eq(1), "1"},
		{`keywarden_requests_total{operation="device.show",outcome="failed",protocol="admin"}`, eq(1), "1"},
		{`keywarden_requests_total{operation="Get",outcome="ok",protocol="kmip"}`, eq(1), "1"},
		{`keywarden_request_duration_seconds_count{operation="group.list",protocol="admin"}`, eq(3), "3"},
		{`keywarden_request_duration_seconds_bucket{operation="Get",protocol="kmip",le="0.005"}`, eq(1), "1 (3ms falls under 5ms)"},
		{`keywarden_connections{listener="admin"}`, gt(0), "> 0 (the scrape's own connection)"},
		{`keywarden_connections{listener="kmip"}`, eq(0), "0"},
		{`keywarden_connections_probed_total{listener="device"}`, eq(1), "1"},
		{`keywarden_store_size_bytes`, gt(0), "> 0"},
		{`keywarden_cert_expiry_seconds{cert="ca"}`, gt(365 * 24 * 3600), "> a year"},
		{`keywarden_cert_expiry_seconds{cert="server"}`, gt(30 * 24 * 3600), "> 30 days"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			v, ok := m[tt.sample]
			if !ok {
				t.Fatalf("no sample %s", tt.sample)
			}
			if !tt.check(v) {
				t.Fatalf("%s = %v, want %s", tt.sample, v, tt.want)
			}
		})
	}
	t.Run("an open KMIP connection counts", func(t *testing.T) {
		dialKMIP(t, env)
		if v := scrape(t, env)[`keywarden_connections{listener="kmip"}`]; v != 1 {
			t.Fatalf("keywarden_connections{listener=\"kmip\"} = %v with one client connected, want 1", v)
		}
	})
	t.Run("a second server has metrics of its own", func(t *testing.T) {
		other := testenv.Start(t)
		if _, ok := scrape(t, other)[`keywarden_requests_total{operation="group.list",outcome="ok",protocol="admin"}`]; ok {
			t.Fatal("the second server reports the first one's requests")
		}
	})
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func gt(min float64) func(float64) bool  { return func(v float64) bool { return v > min } }
