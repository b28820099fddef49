package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/pki"
)

// adminEnv returns the KEYWARDEN_ variables that reach srv as the
// administrator of dataDir.
func adminEnv(srv *serveProc, dataDir string) []string {
	p := pki.PathsFor(dataDir)
	return []string{
		"KEYWARDEN_ADDR=https://" + srv.addrs["admin"],
		"KEYWARDEN_CACERT=" + p.CACert,
		"KEYWARDEN_CLIENT_CERT=" + p.AdminCert,
		"KEYWARDEN_CLIENT_KEY=" + p.AdminKey,
	}
}

// apiJSON GETs path from the admin API as the administrator and decodes
// the JSON answer.
func apiJSON(t *testing.T, srv *serveProc, dataDir, path string) any {
	t.Helper()
	p := pki.PathsFor(dataDir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + srv.addrs["admin"] + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

// mustRun runs the binary with env and fails unless it exits 0.
func mustRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	stdout, stderr, code := runEnv(t, env, args...)
	if code != 0 {
		t.Fatalf("keywarden %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// decodeJSON decodes a command's JSON output.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON (%v):\n%s", err, out)
	}
}

func TestAdminCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	out := t.TempDir()
	mustRun(t, nil, "cert", "issue", "--data-dir", dir, "--name", "drive1", "--role", "client", "--out", out)
	driveCert := filepath.Join(out, "drive1.pem")
	cert, err := parseCertFile(driveCert)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	driveFP := hex.EncodeToString(sum[:])

	stdout := mustRun(t, env, "group", "create", "TAPES", "--family", "3592", "--alias1", "L1", "--alias2", "L2", "--unknown", "pending")
	if !strings.Contains(stdout, "TAPES") || !strings.Contains(stdout, "L1") {
		t.Fatalf("group create printed:\n%s", stdout)
	}
	stdout = mustRun(t, env, "device", "add", "--family", "3592", "--serial", "S1", "--wwn", "W1", "--group", "TAPES", "--cert", driveCert)
	if !strings.Contains(stdout, driveFP) {
		t.Fatalf("device add does not show the bound fingerprint:\n%s", stdout)
	}

	t.Run("group list -o json", func(t *testing.T) {
		var groups []map[string]any
		decodeJSON(t, mustRun(t, env, "group", "list", "-o", "json"), &groups)
		var found bool
		for _, g := range groups {
			if g["name"] == "TAPES" {
				found = g["family"] == "3592" && g["alias1"] == "L1" && g["alias2"] == "L2" && g["unknown"] == "pending"
			}
		}
		if !found {
			t.Fatalf("TAPES missing or wrong in %v", groups)
		}
	})
	var devices []map[string]any
	t.Run("device list -o json", func(t *testing.T) {
		decodeJSON(t, mustRun(t, env, "device", "list", "-o", "json"), &devices)
		if len(devices) != 1 {
			t.Fatalf("devices %v", devices)
		}
		d := devices[0]
		fps, _ := d["fingerprints"].([]any)
		if d["serial"] != "S1" || d["wwn"] != "W1" || d["group"] != "TAPES" || d["family"] != "3592" ||
			d["state"] != "active" || len(fps) != 1 || fps[0] != driveFP {
			t.Fatalf("device %v, want S1/W1/TAPES bound to %s", d, driveFP)
		}
	})
	if len(devices) != 1 {
		t.FailNow()
	}
	id, _ := devices[0]["id"].(string)

	t.Run("JSON output is the API's JSON", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			path string
		}{
			{[]string{"group", "list"}, "/v1/groups"},
			{[]string{"device", "list"}, "/v1/devices"},
			{[]string{"device", "show", id}, "/v1/devices/" + id},
			{[]string{"pending", "list"}, "/v1/pending"},
			{[]string{"key", "list"}, "/v1/keys"},
			{[]string{"cert", "list"}, "/v1/certs"},
		} {
			var got any
			decodeJSON(t, mustRun(t, env, append(c.args, "-o", "json")...), &got)
			if want := apiJSON(t, srv, dir, c.path); !reflect.DeepEqual(got, want) {
				t.Errorf("keywarden %v -o json = %v\nAPI %s = %v", c.args, got, c.path, want)
			}
		}
	})
	t.Run("tables", func(t *testing.T) {
		tests := []struct {
			args []string
			want []string
		}{
			{[]string{"group", "list"}, []string{"NAME", "FAMILY", "TAPES", "3592", "pending", "default", "GENERIC"}},
			{[]string{"device", "list"}, []string{"ID", "SERIAL", id, "S1", "W1", "TAPES", "active"}},
			{[]string{"device", "show", id}, []string{"serial", "S1", driveFP}},
			{[]string{"pending", "list"}, []string{"KIND"}},
			{[]string{"status"}, []string{"version", "admin listener", srv.addrs["admin"], "devices", "1 (0 pending)", "ca certificate"}},
		}
		for _, tt := range tests {
			t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
				stdout := mustRun(t, env, tt.args...)
				for _, w := range tt.want {
					if !strings.Contains(stdout, w) {
						t.Fatalf("output lacks %q:\n%s", w, stdout)
					}
				}
			})
		}
	})
	t.Run("status -o json", func(t *testing.T) {
		var st struct {
			Listeners map[string]string `json:"listeners"`
			Counts    map[string]int    `json:"counts"`
			Certs     []map[string]any  `json:"certificates"`
		}
		decodeJSON(t, mustRun(t, env, "status", "-o", "json"), &st)
		if st.Listeners["admin"] != srv.addrs["admin"] || st.Counts["devices"] != 1 || st.Counts["groups"] != 2 || len(st.Certs) != 2 {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("pending list -o json", func(t *testing.T) {
		var p map[string][]any
		decodeJSON(t, mustRun(t, env, "pending", "list", "-o", "json"), &p)
		if d, ok := p["devices"]; !ok || len(d) != 0 {
			t.Fatalf("pending %v", p)
		}
		if c, ok := p["certs"]; !ok || len(c) != 0 {
			t.Fatalf("pending %v", p)
		}
	})
	t.Run("flags override the environment", func(t *testing.T) {
		p := pki.PathsFor(dir)
		flags := []string{"--addr", "https://" + srv.addrs["admin"], "--cacert", p.CACert}
		mustRun(t, nil, append([]string{"status", "--cert", p.AdminCert, "--key", p.AdminKey}, flags...)...)
		mustRun(t, nil, append([]string{"device", "add", "--family", "3592", "--serial", "S2", "--group", "TAPES",
			"--client-cert", p.AdminCert, "--client-key", p.AdminKey}, flags...)...)
		bad := append(env, "KEYWARDEN_ADDR=https://127.0.0.1:1")
		mustRun(t, bad, "group", "list", "--addr", "https://"+srv.addrs["admin"])
	})
	t.Run("online cert issue and revoke", func(t *testing.T) {
		out2 := t.TempDir()
		stdout := mustRun(t, env, "cert", "issue", "--name", "op2", "--role", "operator", "--out", out2)
		certPath, keyPath := filepath.Join(out2, "op2.pem"), filepath.Join(out2, "op2-key.pem")
		if stdout != certPath+"\n"+keyPath+"\n" {
			t.Fatalf("cert issue printed %q", stdout)
		}
		if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v", fi, err)
		}
		opEnv := append(env, "KEYWARDEN_CLIENT_CERT="+certPath, "KEYWARDEN_CLIENT_KEY="+keyPath)
		mustRun(t, opEnv, "device", "list")
		_, stderr, code := runEnv(t, opEnv, "cert", "revoke", driveFP)
		if code != 1 || !strings.Contains(stderr, "Forbidden") {
			t.Fatalf("operator revoking: exit %d, %s", code, stderr)
		}
		mustRun(t, env, "cert", "revoke", "--file", certPath, "--reason", "left the team")
		var revoked []map[string]any
		decodeJSON(t, mustRun(t, env, "cert", "list", "-o", "json"), &revoked)
		if len(revoked) != 1 || revoked[0]["reason"] != "left the team" {
			t.Fatalf("revoked %v", revoked)
		}
		_, stderr, code = runEnv(t, opEnv, "device", "list")
		if code != 1 || !strings.Contains(stderr, "revoked") {
			t.Fatalf("revoked operator: exit %d, %s", code, stderr)
		}
	})
	t.Run("completion", func(t *testing.T) {
		if stdout := mustRun(t, nil, "completion", "bash"); !strings.Contains(stdout, "keywarden") {
			t.Fatal("no bash completion script")
		}
	})
}

func TestAdminCommandErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	mustRun(t, env, "group", "create", "TAPES", "--family", "3592")
	var dev struct {
		ID string `json:"id"`
	}
	decodeJSON(t, mustRun(t, env, "device", "add", "--family", "3592", "--serial", "S1", "--group", "TAPES", "-o", "json"), &dev)

	tests := []struct {
		name string
		env  []string
		args []string
		want []string // in stderr
	}{
		{"unknown device", env, []string{"device", "show", "nosuch"}, []string{"Not found", "nosuch"}},
		{"unknown device delete", env, []string{"device", "delete", "nosuch"}, []string{"Not found", "nosuch"}},
		{"invalid group name", env, []string{"group", "create", "9lives", "--family", "3592"}, []string{"9lives", "must start with a letter"}},
		{"group name too long", env, []string{"group", "create", "ABCDEFGHIJKLMNOPQ", "--family", "3592"}, []string{"16"}},
		{"unknown family", env, []string{"group", "create", "X", "--family", "8mm"}, []string{"8mm"}},
		{"missing family", env, []string{"group", "create", "X"}, []string{"family"}},
		{"unknown policy", env, []string{"group", "create", "X", "--family", "3592", "--unknown", "maybe"}, []string{"maybe"}},
		{"duplicate serial", env, []string{"device", "add", "--family", "3592", "--serial", "S1", "--group", "TAPES"}, []string{"Already exists", "S1"}},
		{"unknown group for a device", env, []string{"device", "add", "--family", "3592", "--serial", "S9", "--group", "NOPE"}, []string{"NOPE"}},
		{"missing certificate file", env, []string{"device", "add", "--family", "3592", "--serial", "S9", "--cert", "/nonexistent.pem"}, []string{"--cert", "nonexistent.pem"}},
		{"group in use", env, []string{"group", "delete", "TAPES"}, []string{"TAPES"}},
		{"nothing to modify", env, []string{"device", "modify", dev.ID}, []string{"nothing to change"}},
		{"bad output format", env, []string{"group", "list", "-o", "yaml"}, []string{"--output", "yaml"}},
		{"no address", nil, []string{"status"}, []string{"no server address", "KEYWARDEN_ADDR"}},
		{"no server there", append(env, "KEYWARDEN_ADDR=https://127.0.0.1:1"), []string{"status"}, []string{"127.0.0.1:1"}},
		{"accept without group", env, []string{"pending", "accept", strings.Repeat("ab", 32)}, []string{"--group"}},
		{"revoke with nothing", env, []string{"cert", "revoke"}, []string{"FINGERPRINT"}},
		{"missing subcommand", env, []string{"device"}, []string{"missing subcommand"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runEnv(t, tt.env, tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "keywarden: ") {
				t.Fatalf("stderr %q, want a keywarden: message", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}
