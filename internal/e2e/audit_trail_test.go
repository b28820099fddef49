package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestFileTrailServed: a server on its default configuration keeps its
// trail in DIR/audit; a KMIP Get is found again by object through the
// admin API, and the chain verifies.
func TestFileTrailServed(t *testing.T) {
	env := testenv.Start(t)
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	id := c.must(aesKey("trail-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	c.must(&payloads.ActivateRequestPayload{UniqueIdentifier: id})
	c.must(&payloads.GetRequestPayload{UniqueIdentifier: id})

	ac := adminClient(t, env)
	ctx := context.Background()
	var recs []client.AuditRecord
	// The records are written before each reply, so they are there now.
	recs, err := ac.Audit(ctx, client.AuditFilter{Object: id})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, r := range recs {
		ops[r.Operation]++
	}
	for _, op := range []string{"Create", "Activate", "Get"} {
		if ops[op] != 1 {
			t.Errorf("%s recorded %d times for %s, want 1 (%v)", op, ops[op], id, ops)
		}
	}
	v, err := ac.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.Records < 4 {
		t.Fatalf("verify: ok=%v records=%d problem=%+v", v.OK, v.Records, v.Problem)
	}
	if _, err := os.Stat(filepath.Join(env.DataDir, server.AuditDir, "audit.log")); err != nil {
		t.Fatalf("no trail file in DIR/audit: %v", err)
	}
}

// TestFileTrailFailsClosed: with the audit directory unusable (replaced by
// a file, which stops writes even for root), KMIP requests are refused and
// the server keeps running; once the directory is back, service resumes
// without a restart.
func TestFileTrailFailsClosed(t *testing.T) {
	env := testenv.Start(t)
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	id := c.must(aesKey("trail-closed")).(*payloads.CreateResponsePayload).UniqueIdentifier
	c.must(&payloads.ActivateRequestPayload{UniqueIdentifier: id})

	dir := filepath.Join(env.DataDir, server.AuditDir)
	aside := dir + ".aside"
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		it, err := c.call(&payloads.GetRequestPayload{UniqueIdentifier: id})
		if err != nil {
			t.Fatal(err)
		}
		if it.ResponsePayload == nil {
			wantAuditRefusal(t, it)
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("Get still served with the audit directory gone")
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, dir); err != nil {
		t.Fatal(err)
	}
	served := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		it, err := c.call(&payloads.GetRequestPayload{UniqueIdentifier: id})
		if err != nil {
			t.Fatal(err)
		}
		if it.ResponsePayload != nil {
			served = true
			break
		}
	}
	if !served {
		t.Fatal("service did not resume once the audit directory was back")
	}
	v, err := adminClient(t, env).VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("chain broken after the outage: %+v", v.Problem)
	}
}
