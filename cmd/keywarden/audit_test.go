package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
)

// writeTrail writes n key events to DIR/audit as the server would: keyed
// from the master key, anchored in the store.
func writeTrail(t *testing.T, dataDir string, n int) {
	t.Helper()
	mk, err := barrier.OpenMasterKey(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dataDir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	b, err := barrier.New(ctx, st, mk, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := audit.NewStoreAnchor(st, b)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := audit.Open(ctx, audit.Config{Dir: filepath.Join(dataDir, "audit"), ChainKey: b.IndexKey([]byte("audit-chain")), Anchor: anchor})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		e := audit.Event{Time: time.Date(2026, 11, 25, 12, 0, i, 0, time.UTC), Type: audit.TypeKey, Protocol: audit.ProtoDevice,
			Operation: "write-key", Client: audit.Client{DeviceID: "drive-1", Serial: "000007888422"},
			Labels: []string{"LBL20", "LBL21"}, Volser: fmt.Sprintf("VOL%03d", i), Outcome: audit.Success}
		if i == n {
			e.Outcome, e.Reason = audit.Denied, "device revoked"
		}
		if err := tr.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAuditCommandsOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, nil, "init", "--data-dir", dir)
	writeTrail(t, dir, 5)

	out := mustRun(t, nil, "audit", "verify", "--data-dir", dir)
	if !strings.Contains(out, "verified: 5 records in 1 files, seq 1 to 5; anchored head seq 5 matches") {
		t.Fatalf("verify printed:\n%s", out)
	}
	var recs []map[string]any
	decodeJSON(t, mustRun(t, nil, "audit", "search", "--data-dir", dir, "--volser", "VOL003", "-o", "json"), &recs)
	if len(recs) != 1 || recs[0]["seq"] != float64(3) || recs[0]["volser"] != "VOL003" {
		t.Fatalf("search --volser: %v", recs)
	}
	decodeJSON(t, mustRun(t, nil, "audit", "search", "--data-dir", dir, "--outcome", "denied", "--device", "drive-1", "-o", "json"), &recs)
	if len(recs) != 1 || recs[0]["reason"] != "device revoked" {
		t.Fatalf("search --outcome denied: %v", recs)
	}
	table := mustRun(t, nil, "audit", "search", "--data-dir", dir, "--since", "2026-11-25T12:00:04Z")
	if !strings.HasPrefix(table, "SEQ") || strings.Count(table, "\n") != 3 || !strings.Contains(table, "VOL005") {
		t.Fatalf("search table:\n%s", table)
	}
	show := mustRun(t, nil, "audit", "show", "--data-dir", dir, "--volser", "VOL002")
	for _, want := range []string{"Runtime event:\n", "timestamp= Wed Nov 25 12:00:02 GMT 2026\n", "outcome= result= successful\n",
		"resource= name= write-key: Drive Serial Number: 000007888422 Device: drive-1 VolSer: VOL002 Key Alias/Label[0]: LBL20 Key Alias/Label[1]: LBL21;type=device\n"} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}
	if _, stderr, code := run(t, "audit", "search", "--data-dir", dir, "--outcome", "ok"); code == 0 || !strings.Contains(stderr, "--outcome") {
		t.Fatalf("--outcome ok: exit %d, %s", code, stderr)
	}

	path := filepath.Join(dir, "audit", audit.DefaultName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(orig, []byte("\n"))[:5]
	tests := []struct {
		name  string
		lines [][]byte
		want  string
	}{
		{"swapped", [][]byte{lines[0], lines[2], lines[1], lines[3], lines[4]}, "reordered record at " + path + " line 2 (seq 3)"},
		{"deleted", [][]byte{lines[0], lines[1], lines[3], lines[4]}, "removed record at " + path + " line 3 (seq 3)"},
		{"cut off", lines[:3], "removed record at " + path + " line 4 (seq 4)"},
		{"altered", [][]byte{lines[0], bytes.Replace(lines[1], []byte("VOL002"), []byte("VOL00X"), 1), lines[2], lines[3], lines[4]},
			"altered record at " + path + " line 2 (seq 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, bytes.Join(tt.lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(path, orig, 0o600)
			_, stderr, code := run(t, "audit", "verify", "--data-dir", dir)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("verify: exit %d, stderr:\n%s\nwant %q", code, stderr, tt.want)
			}
			var v map[string]any
			stdout, _, code := run(t, "audit", "verify", "--data-dir", dir, "-o", "json")
			decodeJSON(t, stdout, &v)
			if code == 0 || v["ok"] != false || v["problem"] == nil {
				t.Fatalf("verify -o json: exit %d, %v", code, v)
			}
		})
	}
}

// TestAuditCommandsOnline reaches the admin API routes as the
// administrator. A server that keeps no trail in its admin API answers 404,
// which the commands report as such; a server that does answers records.
func TestAuditCommandsOnline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	for _, args := range [][]string{{"audit", "search", "-o", "json"}, {"audit", "verify", "-o", "json"}, {"audit", "show", "-o", "json"}} {
		t.Run(args[1], func(t *testing.T) {
			stdout, stderr, code := runEnv(t, env, args...)
			t.Logf("exit %d, stderr: %s", code, stderr)
			switch {
			case code != 0 && strings.Contains(stderr, "this server keeps no audit trail"):
			case code == 0 && args[1] != "verify":
				var recs []map[string]any
				decodeJSON(t, stdout, &recs)
			case code == 0:
				var v map[string]any
				decodeJSON(t, stdout, &v)
				if v["ok"] != true {
					t.Fatalf("verify: %v", v)
				}
			default:
				t.Fatalf("keywarden %v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
			}
		})
	}
}
