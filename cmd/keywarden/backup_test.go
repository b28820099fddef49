package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupRestoreCommands is the interface external checks rely on:
// keywarden backup against a running server (KEYWARDEN_* settings), then
// keywarden restore into a new directory, after which keywarden serve
// answers the same administrator certificate with the same objects.
func TestBackupRestoreCommands(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	mustRun(t, env, "group", "create", "BACKED_UP", "--family", "3592", "--alias1", "L1", "--alias2", "L2")
	pass := filepath.Join(tmp, "pass")
	if err := os.WriteFile(pass, []byte("a long backup passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "a.kwbackup")
	out := mustRun(t, env, "backup", "--out", file, "--passphrase-file", pass)
	if !strings.Contains(out, "verified") {
		t.Fatalf("backup printed:\n%s", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}

	t.Run("an existing file is not overwritten", func(t *testing.T) {
		_, stderr, code := runEnv(t, env, "backup", "--out", file, "--passphrase-file", pass)
		if code == 0 || !strings.Contains(stderr, "already exists") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})
	t.Run("offline backup refused while the server runs", func(t *testing.T) {
		_, stderr, code := run(t, "backup", "--data-dir", dir, "--out", filepath.Join(tmp, "off.kwbackup"), "--passphrase-file", pass)
		if code == 0 || !strings.Contains(stderr, "running") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	wrong := filepath.Join(tmp, "wrong")
	if err := os.WriteFile(wrong, []byte("not the passphrase at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(tmp, "damaged.kwbackup")
	d := append([]byte(nil), data...)
	d[len(d)/2] ^= 0x10
	if err := os.WriteFile(damaged, d, 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated.kwbackup")
	if err := os.WriteFile(truncated, data[:len(data)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, pass, want string
	}{
		{"wrong passphrase", file, wrong, "wrong passphrase"},
		{"flipped byte", damaged, pass, "damaged"},
		{"truncated", truncated, pass, "damaged"},
	} {
		t.Run("restore refuses "+tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "new")
			_, stderr, code := run(t, "restore", "--in", tc.in, "--data-dir", target, "--passphrase-file", tc.pass)
			if code == 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "nothing was written") {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 0 {
				t.Fatalf("restore left %d entries behind", len(ents))
			}
		})
	}

	restored := filepath.Join(tmp, "restored")
	mustRun(t, nil, "restore", "--in", file, "--data-dir", restored, "--passphrase-file", pass)
	srvB := startServe(t, restored)
	// The same administrator certificate, from the original directory.
	envB := adminEnv(srvB, dir)
	if out := mustRun(t, envB, "group", "list"); !strings.Contains(out, "BACKED_UP") {
		t.Fatalf("the restored server's groups:\n%s", out)
	}

	t.Run("offline backup of a stopped server", func(t *testing.T) {
		if code := srvB.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
			t.Fatalf("serve exited %d", code)
		}
		off := filepath.Join(tmp, "offline.kwbackup")
		mustRun(t, nil, "backup", "--data-dir", restored, "--out", off, "--passphrase-file", pass)
		again := filepath.Join(tmp, "restored-again")
		mustRun(t, nil, "restore", "--in", off, "--data-dir", again, "--passphrase-file", pass)
		srvC := startServe(t, again)
		if out := mustRun(t, adminEnv(srvC, dir), "group", "list"); !strings.Contains(out, "BACKED_UP") {
			t.Fatalf("groups after an offline backup and restore:\n%s", out)
		}
	})
}
