package admin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

func TestProblemBodies(t *testing.T) {
	env := testenv.Start(t)
	operator := env.IssueClient(t, "op-1", pki.RoleOperator)
	mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/groups", map[string]any{"name": "TAPES", "family": "3592"}),
		http.StatusCreated, "create group")
	mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/devices",
		map[string]any{"family": "3592", "serial": "S1", "group": "TAPES"}), http.StatusCreated, "add device")

	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		typ          string
		detail       string // in the detail
	}{
		{"unknown device", "GET", "/v1/devices/nosuch", nil, 404, "not-found", `"nosuch"`},
		{"unknown group", "DELETE", "/v1/groups/NOSUCH", nil, 404, "not-found", "NOSUCH"},
		{"invalid group name", "POST", "/v1/groups", map[string]any{"name": "9lives", "family": "3592"}, 400, "invalid", "must start with a letter"},
		{"reserved group name", "POST", "/v1/groups", map[string]any{"name": "LTO", "family": "LTO"}, 400, "invalid", "reserved"},
		{"unknown family", "POST", "/v1/groups", map[string]any{"name": "X", "family": "8mm"}, 400, "invalid", "8mm"},
		{"duplicate group", "POST", "/v1/groups", map[string]any{"name": "TAPES", "family": "3592"}, 409, "exists", "TAPES"},
		{"duplicate serial", "POST", "/v1/devices", map[string]any{"family": "3592", "serial": "S1", "group": "TAPES"}, 409, "exists", "S1"},
		{"group in use", "DELETE", "/v1/groups/TAPES", nil, 409, "group-in-use", "TAPES"},
		{"malformed JSON", "POST", "/v1/groups", `{"name": `, 400, "invalid", "JSON"},
		{"unknown field", "POST", "/v1/groups", map[string]any{"name": "X", "family": "3592", "colour": "red"}, 400, "invalid", "colour"},
		{"two JSON values", "POST", "/v1/groups", `{"name":"X","family":"3592"} {}`, 400, "invalid", "after the JSON object"},
		{"no body", "POST", "/v1/groups", nil, 400, "invalid", "JSON body"},
		{"body too large", "POST", "/v1/groups", `{"name":"` + strings.Repeat("x", 20<<10) + `"}`, 413, "too-large", "limit"},
		{"bad fingerprint", "POST", "/v1/pending/certs/xyz/reject", nil, 400, "invalid", "fingerprint"},
		{"bad key type", "GET", "/v1/keys?type=Banana", nil, 400, "invalid", "SymmetricKey"},
		{"unknown key", "GET", "/v1/keys/nosuch", nil, 404, "not-found", "object not found"},
		{"revoke needs one of two", "POST", "/v1/certs/revoke", map[string]any{}, 400, "invalid", "fingerprint or certificate"},
		{"issue unknown role", "POST", "/v1/certs/issue", map[string]any{"name": "x", "role": "root"}, 400, "invalid", "root"},
		{"issue bad name", "POST", "/v1/certs/issue", map[string]any{"name": "../x", "role": "auditor"}, 400, "invalid", "../x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, env, env.AdminTLS, tt.method, tt.path, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
			}
			p := a.problem(t)
			if p.Type != "urn:keywarden:problem:"+tt.typ || !strings.Contains(p.Detail, tt.detail) {
				t.Fatalf("problem %+v, want type %q and %q in the detail", p, tt.typ, tt.detail)
			}
		})
	}

	t.Run("operator may not destroy", func(t *testing.T) {
		a := call(t, env, operator, "POST", "/v1/keys/nosuch/destroy", nil)
		if p := a.problem(t); a.status != 403 || !strings.Contains(p.Detail, "operator") {
			t.Fatalf("status %d, problem %+v", a.status, p)
		}
	})
	t.Run("revoked certificate", func(t *testing.T) {
		auditor := env.IssueClient(t, "aud-revoked", pki.RoleAuditor)
		// A connection opened before the revocation stays open (keep-alive):
		// the handler must refuse it. New connections fail the handshake.
		kept := &http.Client{Transport: &http.Transport{TLSClientConfig: auditor}, Timeout: 20 * time.Second}
		get := func(path string) (*http.Response, error) { return kept.Get("https://" + env.AdminAddr + path) }
		resp, err := get("/v1/status")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status before revocation: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fp := leafFingerprint(t, auditor)
		mustStatus(t, call(t, env, env.AdminTLS, "POST", "/v1/certs/revoke", map[string]any{"fingerprint": fp}), 200, "revoke")
		for _, path := range []string{"/v1/status", "/healthz", "/metrics", "/v1/nosuch"} {
			resp, err := get(path)
			if err != nil {
				t.Fatalf("GET %s on the kept connection: %v", path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a := answer{status: resp.StatusCode, header: resp.Header, body: body}
			if p := a.problem(t); a.status != http.StatusUnauthorized || !strings.Contains(p.Detail, "revoked") {
				t.Fatalf("GET %s with a revoked certificate: status %d, problem %+v", path, a.status, p)
			}
		}
		fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: auditor}, Timeout: 20 * time.Second}
		if _, err := fresh.Get("https://" + env.AdminAddr + "/healthz"); err == nil || !strings.Contains(err.Error(), "bad certificate") {
			t.Fatalf("new connection with a revoked certificate: %v", err)
		}
	})
}
