package e2e

import (
	"crypto/tls"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// adminAnswer is one admin API answer.
type adminAnswer struct {
	status int
	body   []byte
}

// adminCall sends one request to the admin listener as conf.
func adminCall(t *testing.T, env *testenv.Env, conf *tls.Config, method, path, body string) adminAnswer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "https://"+env.AdminAddr+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return adminAnswer{status: resp.StatusCode, body: data}
}

// outcomeOfStatus is the outcome an HTTP status must be recorded with.
func outcomeOfStatus(status int) audit.Outcome {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.Denied
	case status >= 400:
		return audit.Failure
	}
	return audit.Success
}

var pathParam = regexp.MustCompile(`\{[a-z]+\}`)

// TestAuditAdminRoutes: every route of the admin API, called by an
// administrator and (where its role may not) by an auditor, produces
// exactly one event named "METHOD /pattern" with the answer's outcome.
func TestAuditAdminRoutes(t *testing.T) {
	env, rec := startAudited(t)
	auditor := env.IssueClient(t, "audit-auditor", pki.RoleAuditor)
	adminFP, auditorFP := certFingerprint(t, env.AdminTLS), certFingerprint(t, auditor)
	const missing = "audit-missing"

	check := func(t *testing.T, conf *tls.Config, fp, role string, rt admin.Route, wantDenied bool) {
		t.Helper()
		path := pathParam.ReplaceAllString(rt.Pattern, missing)
		body := ""
		if rt.Method == http.MethodPost || rt.Method == http.MethodPatch {
			body = "{}"
		}
		var a adminAnswer
		ev := oneEvent(t, rec, audit.ProtoAdmin, func() { a = adminCall(t, env, conf, rt.Method, path, body) })
		if want := rt.Method + " " + rt.Pattern; ev.Operation != want {
			t.Fatalf("operation %q, want %q", ev.Operation, want)
		}
		if ev.Outcome != outcomeOfStatus(a.status) {
			t.Fatalf("status %d recorded as %s (%s); body %s", a.status, ev.Outcome, ev.Reason, a.body)
		}
		if wantDenied && ev.Outcome != audit.Denied {
			t.Fatalf("status %d, want a denial", a.status)
		}
		if ev.Client.Fingerprint != fp || (role != "" && ev.Client.Role != role) {
			t.Fatalf("client %+v, want %s %s", ev.Client, role, fp)
		}
		if strings.Contains(rt.Pattern, "{") && !slices.Contains(append(ev.Objects, ev.Labels...), missing) {
			t.Fatalf("objects %v labels %v do not name %s", ev.Objects, ev.Labels, missing)
		}
		if ev.Outcome != audit.Success && strings.Contains(ev.Reason, missing) {
			t.Fatalf("reason %q echoes the request", ev.Reason)
		}
	}
	for _, rt := range admin.Routes() {
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			check(t, env.AdminTLS, adminFP, "admin", rt, false)
			if !slices.Contains(rt.Roles, "any") && !slices.Contains(rt.Roles, "auditor") {
				t.Run("auditor", func(t *testing.T) { check(t, auditor, auditorFP, "auditor", rt, true) })
			}
		})
	}

	t.Run("device certificate", func(t *testing.T) {
		conf := env.IssueClient(t, "audit-admin-drive", pki.RoleClient)
		ev := oneEvent(t, rec, audit.ProtoAdmin, func() { adminCall(t, env, conf, "GET", "/v1/status", "") })
		if ev.Outcome != audit.Denied || ev.Operation != "GET /v1/status" {
			t.Fatalf("event %+v", ev)
		}
	})
	unrouted := []struct{ name, method, path string }{
		{"no route", "GET", "/v1/no-such-route/" + missing},
		{"method not allowed", "PUT", "/v1/status"},
	}
	for _, tt := range unrouted {
		t.Run(tt.name, func(t *testing.T) {
			ev := oneEvent(t, rec, audit.ProtoAdmin, func() { adminCall(t, env, env.AdminTLS, tt.method, tt.path, "") })
			if ev.Operation != "unrouted" || ev.Outcome != audit.Failure || strings.Contains(ev.Reason, missing) {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}
