package admin_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/bundle"
	"github.com/keywarden/keywarden/internal/bundle/bundletest"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestImportBundleFailureProblem imports a bundle whose second label's
// private key does not match its certificate: the write of that label
// fails, the first label is removed again, and the answer is a problem
// listing what was written and undone; the audit event records a failure
// naming both labels.
func TestImportBundleFailureProblem(t *testing.T) {
	rec := &audit.Memory{}
	env := testenv.Start(t, testenv.WithAudit(rec))
	var ks []*rsa.PrivateKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	c := &bundle.Contents{Format: bundle.ContentsFormat, Created: time.Now(), KeyGroups: []bundle.KeyGroup{},
		Labels: []bundle.Label{bundletest.Label(t, "FIRST", ks[0], ks[0]), bundletest.Label(t, "BROKEN", ks[1], ks[2])}}
	pass := []byte("bundle passphrase")
	data, err := bundle.SealPassphrase(c, pass, backup.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	a := call(t, env, env.AdminTLS, "POST", "/v1/labels/import-bundle", map[string]any{"bundle": data, "passphrase": string(pass)})
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 (the cause: a key that does not match); body %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != admin.ProblemContentType {
		t.Fatalf("Content-Type %q", ct)
	}
	var p struct {
		admin.Problem
		Failed  bundle.Write   `json:"failed"`
		Written []bundle.Write `json:"written"`
		Undone  []bundle.Write `json:"undone"`
		Left    []bundle.Write `json:"left"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem %s: %v", a.body, err)
	}
	first := bundle.Write{Kind: bundle.KindLabel, Name: "FIRST"}
	switch {
	case p.Type != admin.ProblemImportUndone || p.Title == "" || p.Status != http.StatusBadRequest:
		t.Errorf("problem %+v", p.Problem)
	case p.Failed.Kind != bundle.KindLabel || p.Failed.Name != "BROKEN":
		t.Errorf("failed %+v, want label BROKEN", p.Failed)
	case !slices.Equal(p.Written, []bundle.Write{first}) || !slices.Equal(p.Undone, []bundle.Write{first}):
		t.Errorf("written %+v, undone %+v, want %+v", p.Written, p.Undone, first)
	case p.Left == nil || len(p.Left) != 0:
		t.Errorf("left %#v, want an empty list", p.Left)
	case !strings.Contains(p.Detail, `label "BROKEN" failed`) || !strings.Contains(p.Detail, "does not match") ||
		!strings.Contains(p.Detail, "Nothing was imported"):
		t.Errorf("detail %q", p.Detail)
	}
	for _, name := range []string{"FIRST", "BROKEN"} {
		if a := call(t, env, env.AdminTLS, "GET", "/v1/labels/"+name, nil); a.status != http.StatusNotFound {
			t.Errorf("label %s after the failed import: status %d", name, a.status)
		}
	}
	var ev *audit.Event
	for _, e := range rec.Events() {
		if e.Operation == "POST /v1/labels/import-bundle" {
			ev = &e
		}
	}
	if ev == nil {
		t.Fatalf("no audit event for the import: %+v", rec.Events())
	}
	if ev.Outcome != audit.Failure || ev.Reason != p.Title || !slices.Contains(ev.Labels, "FIRST") || !slices.Contains(ev.Labels, "BROKEN") {
		t.Errorf("audit event %+v, want a failure naming FIRST and BROKEN", ev)
	}

	// The names are free: the bundle without its broken label imports.
	c.Labels = c.Labels[:1]
	if data, err = bundle.SealPassphrase(c, pass, backup.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	a = call(t, env, env.AdminTLS, "POST", "/v1/labels/import-bundle", map[string]any{"bundle": data, "passphrase": string(pass)})
	mustStatus(t, a, http.StatusOK, "import again")
}
