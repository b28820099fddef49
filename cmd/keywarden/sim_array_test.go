package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// arrayFingerprint extracts the unlock key's fingerprint from a "sim
// array" summary line.
var arrayFingerprint = regexp.MustCompile(`fingerprint (sha256:[0-9a-f]{16})\b`)

func TestSimArrayEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	env := adminEnv(srv, dataDir)
	const serial = "75ABCD1"
	mustRun(t, env, "label", "create", "D20")
	mustRun(t, env, "label", "create", "D21")
	mustRun(t, env, "group", "create", "arrays", "--family", "DS8K", "--alias1", "D20", "--alias2", "D21")
	creds := issueDriveCert(t, dataDir, "array-ds8k")
	mustRun(t, env, "device", "add", "--family", "DS8K", "--serial", serial, "--group", "arrays", "--cert", creds.cert)

	stateDir := t.TempDir()
	state := filepath.Join(stateDir, "array.json")
	down := "127.0.0.1:1" // nothing listens there: the array fails over
	created := mustRun(t, nil, append([]string{"sim", "array", "create-key", "--array", serial, "--state", state},
		creds.args(down, srv.addrs["device"])...)...)
	m := arrayFingerprint.FindStringSubmatch(created)
	if m == nil || !strings.Contains(created, "L:D20") || !strings.Contains(created, "L:D21") {
		t.Fatalf("create-key summary %q, want a fingerprint and the group's labels", created)
	}
	fp := m[1]
	t.Logf("create-key: %s", strings.TrimSpace(created))
	raw, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("state file: %s", raw)
	if !strings.Contains(string(raw), serial) || !strings.Contains(string(raw), `"encoding": "L"`) {
		t.Fatalf("state file does not hold the array and its EEDK pair: %s", raw)
	}

	unlocked := mustRun(t, nil, append([]string{"sim", "array", "unlock", "--array", serial, "--state", state},
		creds.args(down, srv.addrs["device"])...)...)
	m = arrayFingerprint.FindStringSubmatch(unlocked)
	if m == nil || m[1] != fp {
		t.Fatalf("unlock summary %q, want fingerprint %s", unlocked, fp)
	}

	t.Run("unlock with EEDK1 alone", func(t *testing.T) {
		var st map[string]any
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		delete(st, "eedk2")
		one := filepath.Join(t.TempDir(), "one.json")
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(one, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, nil, append([]string{"sim", "array", "unlock", "--array", serial, "--state", one},
			creds.args(srv.addrs["device"])...)...)
		if m := arrayFingerprint.FindStringSubmatch(out); m == nil || m[1] != fp {
			t.Fatalf("unlock summary %q, want fingerprint %s", out, fp)
		}
	})
	t.Run("state with a bad encoding refused", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), `"encoding": "L"`, `"encoding": "X"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := run(t, append([]string{"sim", "array", "unlock", "--array", serial, "--state", bad},
			creds.args(srv.addrs["device"])...)...)
		if code != 1 || !strings.Contains(stderr, "want L or H") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("second create-key refused", func(t *testing.T) {
		_, stderr, code := run(t, append([]string{"sim", "array", "create-key", "--array", serial, "--state", state},
			creds.args(srv.addrs["device"])...)...)
		if code != 1 || !strings.Contains(stderr, "exists") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		again, err := os.ReadFile(state)
		if err != nil || string(again) != string(raw) {
			t.Fatalf("the state file changed (%v)", err)
		}
	})
	t.Run("state of another array refused", func(t *testing.T) {
		_, stderr, code := run(t, append([]string{"sim", "array", "unlock", "--array", "75OTHER", "--state", state},
			creds.args(srv.addrs["device"])...)...)
		if code != 1 || !strings.Contains(stderr, "belongs to array") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("unknown array refused by the server", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.json")
		_, stderr, code := run(t, append([]string{"sim", "array", "create-key", "--array", "75OTHER", "--state", other},
			creds.args(srv.addrs["device"])...)...)
		if code != 1 || !strings.Contains(stderr, "refused the request") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if _, err := os.Stat(other); !os.IsNotExist(err) {
			t.Fatalf("a refused create-key left a state file (%v)", err)
		}
	})
}
