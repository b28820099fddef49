package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyringAndMasterKeyRotateOffline runs the offline rotations of the
// CLI on a stopped server's data directory: keyring rotation (with the
// store file compacted), master-key rotation file → passphrase →
// file, and keyring status after each.
func TestKeyringAndMasterKeyRotateOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := run(t, "init", "--data-dir", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("a new passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantOutput []string
	}{
		{"status before", []string{"keyring", "status", "--data-dir", dir},
			0, []string{"master key", "file", "1 (active)", "never"}},
		{"keyring rotate", []string{"keyring", "rotate", "--data-dir", dir},
			0, []string{"generation 2 active", "generations [1] destroyed", "store file compacted"}},
		{"status after keyring rotation", []string{"keyring", "status", "--data-dir", dir, "-o", "json"},
			0, []string{`"id": 2`, `"retire": [`, `"in_progress": false`}},
		{"masterkey rotate without --seal", []string{"masterkey", "rotate", "--data-dir", dir},
			1, []string{"--seal"}},
		{"masterkey to passphrase", []string{"masterkey", "rotate", "--data-dir", dir, "--seal", "passphrase", "--new-passphrase-file", pass},
			0, []string{"master key rotated: file → passphrase"}},
		{"old way of opening refused", []string{"keyring", "status", "--data-dir", dir},
			1, []string{"passphrase-protected"}},
		{"status with the new passphrase", []string{"keyring", "status", "--data-dir", dir, "--passphrase-file", pass},
			0, []string{"passphrase", "2 (active)"}},
		{"masterkey back to file", []string{"masterkey", "rotate", "--data-dir", dir, "--passphrase-file", pass, "--seal", "file"},
			0, []string{"passphrase → file"}},
		{"status with the file key", []string{"keyring", "status", "--data-dir", dir},
			0, []string{"master key", "file", "2 (active)"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			stdout, stderr, code := run(t, st.args...)
			if code != st.wantCode {
				t.Fatalf("exit %d; want %d\nstdout: %s\nstderr: %s", code, st.wantCode, stdout, stderr)
			}
			for _, w := range st.wantOutput {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", w, stdout, stderr)
				}
			}
		})
	}
	// The server's CA key was re-sealed: a certificate can still be issued.
	if _, stderr, code := run(t, "cert", "issue", "--data-dir", dir, "--name", "after-rotation", "--out", t.TempDir()); code != 0 {
		t.Fatalf("cert issue after the rotations: %s", stderr)
	}
}
