package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

func TestHealthAndReadiness(t *testing.T) {
	env := testenv.Start(t)
	device := env.IssueClient(t, "drive-1", pki.RoleClient)
	tests := []struct {
		path, body string
	}{
		{"/v1/health", `{"status":"ok"}`},
		{"/healthz", `{"status":"ok"}`},
		{"/readyz", "{\"status\":\"ready\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := call(t, env, device, "GET", tt.path, nil)
			if a.status != http.StatusOK || string(a.body) != tt.body {
				t.Fatalf("status %d body %q, want 200 %q", a.status, a.body, tt.body)
			}
		})
	}
	t.Run("device certificates were not parked as pending", func(t *testing.T) {
		var p admin.Pending
		call(t, env, env.AdminTLS, "GET", "/v1/pending", nil).decode(t, &p)
		if len(p.Certs) != 0 {
			t.Fatalf("pending certificates after health checks: %+v", p.Certs)
		}
	})
}

func TestStatus(t *testing.T) {
	env := testenv.Start(t)
	mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/groups", map[string]any{"name": "TAPES", "family": "3592"}), 201, "group")
	mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/devices",
		map[string]any{"family": "3592", "serial": "S1", "group": "TAPES"}), 201, "device")
	mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/devices",
		map[string]any{"family": "3592", "serial": "S2", "group": "TAPES", "state": "pending"}), 201, "pending device")
	createKeys(t, env, 2)

	auditor := env.IssueClient(t, "aud-1", pki.RoleAuditor)
	var st admin.Status
	call(t, env, auditor, "GET", "/v1/status", nil).decode(t, &st)
	want := admin.Counts{Keys: 2, Devices: 2, Groups: 2, PendingDevices: 1}
	if st.Counts != want {
		t.Errorf("counts %+v, want %+v", st.Counts, want)
	}
	if st.Listeners["admin"] != env.AdminAddr || st.Listeners["kmip"] != env.KMIPAddr || st.Listeners["device"] != env.DeviceAddr {
		t.Errorf("listeners %v", st.Listeners)
	}
	if st.Version == "" || st.Started.IsZero() || st.Started.After(time.Now()) {
		t.Errorf("version %q started %v", st.Version, st.Started)
	}
	if len(st.Certificates) != 2 || st.Certificates[0].Name != "ca" || st.Certificates[1].Name != "server" {
		t.Fatalf("certificates %+v", st.Certificates)
	}
	for _, c := range st.Certificates {
		if c.NearExpiry || c.DaysLeft < 365 || c.Subject == "" {
			t.Errorf("certificate %+v", c)
		}
	}
	if len(st.NearExpiry) != 0 {
		t.Errorf("near expiry %v", st.NearExpiry)
	}
}
