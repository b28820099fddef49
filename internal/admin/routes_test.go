package admin_test

import (
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// Who may call a route, as the product brief states it (written out here,
// not derived from the route table, so the table can be caught wrong).
const (
	anyCert   = "admin operator auditor client"
	readers   = "admin operator auditor"
	operators = "admin operator"
	adminOnly = "admin"
)

// noFP is a well-formed fingerprint of no certificate.
var noFP = strings.Repeat("ab", 32)

// routeCase is the expectation for one route and a request that reaches
// it (placeholders name nothing that exists).
type routeCase struct {
	who  string
	path string
	body func(caller string) any
}

func noBody(string) any { return nil }

var routeCases = map[string]routeCase{
	"GET /v1/health": {anyCert, "/v1/health", noBody},
	"GET /healthz":   {anyCert, "/healthz", noBody},
	"GET /readyz":    {anyCert, "/readyz", noBody},
	"GET /metrics":   {anyCert, "/metrics", noBody},
	"GET /v1/status": {readers, "/v1/status", noBody},

	"GET /v1/groups": {readers, "/v1/groups", noBody},
	"POST /v1/groups": {operators, "/v1/groups", func(c string) any {
		return map[string]any{"name": "M_" + c, "family": "3592"}
	}},
	"GET /v1/groups/{name}":    {readers, "/v1/groups/nosuch", noBody},
	"PATCH /v1/groups/{name}":  {operators, "/v1/groups/nosuch", func(string) any { return map[string]any{"alias1": "x"} }},
	"DELETE /v1/groups/{name}": {operators, "/v1/groups/nosuch", noBody},
	"POST /v1/groups/{name}/rollover": {operators, "/v1/groups/nosuch/rollover", func(string) any {
		return map[string]any{"at": "2030-01-01T00:00:00Z", "key_group": "nosuch"}
	}},
	"DELETE /v1/groups/{name}/rollover": {operators, "/v1/groups/nosuch/rollover?at=2030-01-01T00:00:00Z", noBody},

	"GET /v1/devices": {readers, "/v1/devices", noBody},
	"POST /v1/devices": {operators, "/v1/devices", func(c string) any {
		return map[string]any{"family": "GENERIC", "serial": "M-" + c, "group": "default"}
	}},
	"GET /v1/devices/{id}":          {readers, "/v1/devices/nosuch", noBody},
	"PATCH /v1/devices/{id}":        {operators, "/v1/devices/nosuch", func(string) any { return map[string]any{"description": "x"} }},
	"DELETE /v1/devices/{id}":       {operators, "/v1/devices/nosuch", noBody},
	"POST /v1/devices/{id}/approve": {operators, "/v1/devices/nosuch/approve", noBody},
	"POST /v1/devices/{id}/reject":  {operators, "/v1/devices/nosuch/reject", noBody},

	"GET /v1/kmip-users": {readers, "/v1/kmip-users", noBody},
	"POST /v1/kmip-users": {adminOnly, "/v1/kmip-users", func(c string) any {
		return map[string]any{"name": "matrix-" + c, "password": "route matrix password"}
	}},
	"DELETE /v1/kmip-users/{name}": {adminOnly, "/v1/kmip-users/nosuch", noBody},

	"GET /v1/pending": {readers, "/v1/pending", noBody},
	"POST /v1/pending/certs/{fp}/accept": {operators, "/v1/pending/certs/" + noFP + "/accept", func(string) any {
		return map[string]any{"group": "default"}
	}},
	"POST /v1/pending/certs/{fp}/reject": {operators, "/v1/pending/certs/" + noFP + "/reject", noBody},

	"GET /v1/keys":               {readers, "/v1/keys", noBody},
	"GET /v1/keys/{id}":          {readers, "/v1/keys/nosuch", noBody},
	"POST /v1/keys/{id}/destroy": {adminOnly, "/v1/keys/nosuch/destroy", noBody},

	"GET /v1/certs": {readers, "/v1/certs", noBody},
	"POST /v1/certs/revoke": {adminOnly, "/v1/certs/revoke", func(string) any {
		return map[string]any{"fingerprint": noFP, "reason": "route matrix"}
	}},
	"POST /v1/certs/issue": {adminOnly, "/v1/certs/issue", func(c string) any {
		return map[string]any{"name": "matrix-" + c, "role": "auditor"}
	}},

	"GET /v1/labels": {readers, "/v1/labels", noBody},
	"POST /v1/labels": {adminOnly, "/v1/labels", func(c string) any {
		return map[string]any{"name": "matrix-" + c, "bits": 1024}
	}},
	"POST /v1/labels/import": {adminOnly, "/v1/labels/import", func(c string) any {
		return map[string]any{"name": "matrix-" + c, "cert_pem": "not a certificate"}
	}},
	"POST /v1/labels/export-bundle": {adminOnly, "/v1/labels/export-bundle", func(string) any {
		return map[string]any{"labels": []string{"nosuch"}, "passphrase": "route matrix"}
	}},
	"POST /v1/labels/import-bundle": {adminOnly, "/v1/labels/import-bundle", func(string) any {
		return map[string]any{"bundle": []byte("not a bundle")}
	}},
	"GET /v1/labels/{name}":      {readers, "/v1/labels/nosuch", noBody},
	"GET /v1/labels/{name}/cert": {readers, "/v1/labels/nosuch/cert", noBody},
	"POST /v1/labels/{name}/export-key": {adminOnly, "/v1/labels/nosuch/export-key", func(string) any {
		return map[string]any{"format": "pkcs12", "passphrase": "route matrix"}
	}},

	"GET /v1/keygroups": {readers, "/v1/keygroups", noBody},
	"POST /v1/keygroups": {adminOnly, "/v1/keygroups", func(c string) any {
		return map[string]any{"name": "kg-" + c, "aliases": "kg" + c + "1"}
	}},
	"GET /v1/keygroups/{name}": {readers, "/v1/keygroups/nosuch", noBody},

	"GET /v1/usage":        {readers, "/v1/usage?volser=NOSUCH", noBody},
	"GET /v1/usage/export": {readers, "/v1/usage/export?volser=NOSUCH", noBody},
	"POST /v1/usage/import": {adminOnly, "/v1/usage/import", func(string) any {
		return "<KeyUsageEvents></KeyUsageEvents>"
	}},
	"POST /v1/import": {adminOnly, "/v1/import", func(string) any {
		return map[string]any{"dry_run": true, "bundle": map[string]any{}}
	}},

	"GET /v1/keyring":         {readers, "/v1/keyring", noBody},
	"POST /v1/keyring/rotate": {adminOnly, "/v1/keyring/rotate", noBody},
	"POST /v1/masterkey/rotate": {adminOnly, "/v1/masterkey/rotate", func(string) any {
		return map[string]any{"seal": "no-such-kind"}
	}},

	// A single server answers the cluster routes 404, after the role check.
	"GET /v1/cluster": {readers, "/v1/cluster", noBody},
	"POST /v1/cluster/join": {adminOnly, "/v1/cluster/join", func(string) any {
		return map[string]string{"node_id": "n9", "addr": "127.0.0.1:1"}
	}},
	"POST /v1/cluster/leave": {adminOnly, "/v1/cluster/leave", func(string) any {
		return map[string]string{"node_id": "n9"}
	}},

	"GET /v1/audit":         {"admin auditor", "/v1/audit?volser=NOSUCH", noBody},
	"POST /v1/audit/verify": {"admin auditor", "/v1/audit/verify", noBody},

	"POST /v1/backup": {adminOnly, "/v1/backup", func(string) any {
		return map[string]any{"passphrase": "route matrix passphrase"}
	}},
}

func TestRouteTableCoversTheBrief(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range admin.Routes() {
		key := rt.Method + " " + rt.Pattern
		if seen[key] {
			t.Errorf("route %s declared twice", key)
		}
		seen[key] = true
		c, ok := routeCases[key]
		if !ok {
			t.Errorf("route %s has no expectation in this test", key)
			continue
		}
		wantRoles := strings.Fields(c.who)
		if c.who == anyCert {
			wantRoles = []string{"any"}
		}
		if !slices.Equal(rt.Roles, wantRoles) {
			t.Errorf("route %s: roles %v, want %v", key, rt.Roles, wantRoles)
		}
		// The backup streams the whole store and extends its own write
		// deadline (POST /v1/backup); every other route answers in time.
		if rt.Timeout <= 0 || rt.Timeout >= 30e9 && rt.Name != "backup" {
			t.Errorf("route %s: timeout %v, want between 0 and the listener's 30s", key, rt.Timeout)
		}
		if (rt.Method == http.MethodGet || rt.Method == http.MethodDelete) && rt.MaxBody != 0 {
			t.Errorf("route %s: a %s takes no body, but MaxBody is %d", key, rt.Method, rt.MaxBody)
		}
	}
	for key := range routeCases {
		if !seen[key] {
			t.Errorf("expected route %s is not in the route table", key)
		}
	}
}

func TestRouteRoles(t *testing.T) {
	env := testenv.Start(t)
	callers := []struct {
		name string
		conf *tls.Config
	}{
		{"admin", env.AdminTLS},
		{"operator", env.IssueClient(t, "op-1", pki.RoleOperator)},
		{"auditor", env.IssueClient(t, "aud-1", pki.RoleAuditor)},
		{"client", env.IssueClient(t, "drive-1", pki.RoleClient)},
	}
	for _, rt := range admin.Routes() {
		key := rt.Method + " " + rt.Pattern
		rc, ok := routeCases[key]
		if !ok {
			t.Errorf("no expectation for %s", key) // TestRouteTableCoversTheBrief says more
			continue
		}
		for _, caller := range callers {
			t.Run(rt.Name+"/"+caller.name, func(t *testing.T) {
				a := call(t, env, caller.conf, rt.Method, rc.path, rc.body(caller.name))
				allowed := slices.Contains(strings.Fields(rc.who), caller.name)
				denied := a.status == http.StatusUnauthorized || a.status == http.StatusForbidden
				switch {
				case allowed && denied:
					t.Fatalf("%s as %s: denied (%d): %s", key, caller.name, a.status, a.body)
				case allowed && a.status >= 500:
					t.Fatalf("%s as %s: server error %d: %s", key, caller.name, a.status, a.body)
				case !allowed:
					if a.status != http.StatusForbidden {
						t.Fatalf("%s as %s: status %d, want 403; body %s", key, caller.name, a.status, a.body)
					}
					if p := a.problem(t); p.Type != "urn:keywarden:problem:forbidden" {
						t.Fatalf("%s as %s: problem type %q", key, caller.name, p.Type)
					}
				}
			})
		}
	}
}

func TestUnroutedRequests(t *testing.T) {
	env := testenv.Start(t)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown path", "GET", "/v1/nosuch", http.StatusNotFound, ""},
		{"unknown version", "GET", "/v2/groups", http.StatusNotFound, ""},
		{"wrong method on a collection", "PUT", "/v1/groups", http.StatusMethodNotAllowed, "GET, POST"},
		{"wrong method on an item", "POST", "/v1/devices/x", http.StatusMethodNotAllowed, "DELETE, GET, PATCH"},
		{"GET on an action", "GET", "/v1/keys/x/destroy", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, env, env.AdminTLS, tt.method, tt.path, nil)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
			}
			a.problem(t)
			if got := a.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}
