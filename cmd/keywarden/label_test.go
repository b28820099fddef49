package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// writePKCS12 writes a PKCS#12 file of a fresh RSA key and self-signed
// certificate, and a password file, and returns their paths.
func writePKCS12(t *testing.T, dir string) (p12Path, passPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "p12"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	p12Path, passPath = filepath.Join(dir, "label.p12"), filepath.Join(dir, "pass")
	if err := os.WriteFile(p12Path, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passPath, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p12Path, passPath
}

func TestLabelCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	out := t.TempDir()

	var created map[string]any
	decodeJSON(t, mustRun(t, env, "label", "create", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "--bits", "1024", "-o", "json"), &created)
	if created["name"] != "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20" || created["bits"] != float64(1024) ||
		created["has_private_key"] != true || created["oaep_hash"] != "SHA-256" {
		t.Fatalf("label create printed %v", created)
	}

	certPath := filepath.Join(out, "partner.pem")
	mustRun(t, env, "label", "export-cert", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "--out", certPath)
	pemOut := mustRun(t, env, "label", "export-cert", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20")
	if data, err := os.ReadFile(certPath); err != nil || string(data) != pemOut || !strings.Contains(pemOut, "BEGIN CERTIFICATE") {
		t.Fatalf("export-cert: file %q (%v), stdout %q", data, err, pemOut)
	}

	stdout := mustRun(t, env, "label", "import-cert", "partner.1", "--cert", certPath, "--oaep-hash", "SHA-1")
	if !strings.Contains(stdout, "partner.1") || !strings.Contains(stdout, "false") {
		t.Fatalf("import-cert printed:\n%s", stdout)
	}

	p12Path, passPath := writePKCS12(t, out)
	var fromP12 map[string]any
	decodeJSON(t, mustRun(t, env, "label", "import-cert", "from-p12", "--p12", p12Path, "--p12-password-file", passPath, "-o", "json"), &fromP12)
	if fromP12["has_private_key"] != true || fromP12["bits"] != float64(1024) {
		t.Fatalf("import-cert --p12 printed %v", fromP12)
	}

	tests := []struct {
		name     string
		private  bool
		oaepHash string
	}{
		{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", true, "SHA-256"},
		{"partner.1", false, "SHA-1"},
	}
	var list []map[string]any
	decodeJSON(t, mustRun(t, env, "label", "list", "-o", "json"), &list)
	if len(list) != len(tests)+1 {
		t.Fatalf("label list: %v", list)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var shown map[string]any
			decodeJSON(t, mustRun(t, env, "label", "show", tc.name, "-o", "json"), &shown)
			for _, l := range []map[string]any{list[i], shown} {
				if l["name"] != tc.name || l["has_private_key"] != tc.private || l["oaep_hash"] != tc.oaepHash ||
					l["key_hash"] != created["key_hash"] {
					t.Errorf("label %v", l)
				}
				if _, ok := l["private_key"]; ok {
					t.Errorf("label answer holds a private key: %v", l)
				}
			}
		})
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate", []string{"label", "create", "partner.1", "--bits", "1024"}, "exists"},
		{"bad name", []string{"label", "create", "a/b"}, "label name"},
		{"missing", []string{"label", "show", "nosuch"}, "not found"},
		{"import without --cert", []string{"label", "import-cert", "x"}, "cert"},
		{"import with --cert and --p12", []string{"label", "import-cert", "x", "--cert", p12Path, "--p12", p12Path}, "p12"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, env, tc.args...)
			if code == 0 || !strings.Contains(strings.ToLower(stderr), tc.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, stderr, tc.want)
			}
		})
	}
}

// TestLabelExportKeyAndRollover exports a label's private key in both
// formats as the administrator (and is refused as an operator), then
// schedules, lists and cancels a group rollover.
func TestLabelExportKeyAndRollover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	out := t.TempDir()

	var lb map[string]any
	decodeJSON(t, mustRun(t, env, "label", "create", "exp1", "--bits", "1024", "-o", "json"), &lb)
	mustRun(t, env, "label", "create", "exp2", "--bits", "1024")
	certPath := filepath.Join(out, "exp1.pem")
	mustRun(t, env, "label", "export-cert", "exp1", "--out", certPath)
	mustRun(t, env, "label", "import-cert", "partner", "--cert", certPath)
	passPath := filepath.Join(out, "pass")
	if err := os.WriteFile(passPath, []byte("long enough passphrase\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("pkcs12", func(t *testing.T) {
		p12Path := filepath.Join(out, "exp1.p12")
		mustRun(t, env, "label", "export-key", "exp1", "--out", p12Path, "--passphrase-file", passPath)
		fi, err := os.Stat(p12Path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("PKCS#12 file: %v %v", fi, err)
		}
		data, err := os.ReadFile(p12Path)
		if err != nil {
			t.Fatal(err)
		}
		key, cert, _, err := pkcs12.DecodeChain(data, "long enough passphrase")
		if err != nil {
			t.Fatal(err)
		}
		if !cert.PublicKey.(*rsa.PublicKey).Equal(&key.(*rsa.PrivateKey).PublicKey) {
			t.Fatal("the exported key does not match its certificate")
		}
		// The export imports again (as a new label of the same key).
		var again map[string]any
		decodeJSON(t, mustRun(t, env, "label", "import-cert", "exp1.copy", "--p12", p12Path,
			"--p12-password-file", passPath, "-o", "json"), &again)
		if again["key_hash"] != lb["key_hash"] || again["has_private_key"] != true {
			t.Fatalf("re-imported %v, want key hash %v", again, lb["key_hash"])
		}
		// An existing file is never overwritten.
		_, stderr, code := runEnv(t, env, "label", "export-key", "exp1", "--out", p12Path, "--passphrase-file", passPath)
		if code == 0 || !strings.Contains(stderr, "exists") {
			t.Fatalf("export over an existing file: exit %d, %s", code, stderr)
		}
	})
	t.Run("pem", func(t *testing.T) {
		pemPath := filepath.Join(out, "exp1-key.pem")
		mustRun(t, env, "label", "export-key", "exp1", "--out", pemPath, "--format", "pem")
		fi, err := os.Stat(pemPath)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("PEM file: %v %v", fi, err)
		}
		data, err := os.ReadFile(pemPath)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("PEM export: %q", data[:min(len(data), 40)])
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			t.Fatal(err)
		}
	})

	opDir := t.TempDir()
	mustRun(t, env, "cert", "issue", "--name", "op", "--role", "operator", "--out", opDir)
	opEnv := append(env[:len(env):len(env)], "KEYWARDEN_CLIENT_CERT="+filepath.Join(opDir, "op.pem"),
		"KEYWARDEN_CLIENT_KEY="+filepath.Join(opDir, "op-key.pem"))
	refusals := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"operator", opEnv, []string{"label", "export-key", "exp1", "--out", filepath.Join(out, "op.p12"), "--passphrase-file", passPath}, "forbidden"},
		{"partner certificate", env, []string{"label", "export-key", "partner", "--out", filepath.Join(out, "partner.p12"), "--passphrase-file", passPath}, "private key"},
		{"unknown label", env, []string{"label", "export-key", "nosuch", "--out", filepath.Join(out, "nosuch.p12"), "--passphrase-file", passPath}, "not found"},
		{"pkcs12 without passphrase", env, []string{"label", "export-key", "exp1", "--out", filepath.Join(out, "x.p12")}, "passphrase-file"},
		{"pem with passphrase", env, []string{"label", "export-key", "exp1", "--out", filepath.Join(out, "x.pem"), "--format", "pem", "--passphrase-file", passPath}, "not encrypted"},
		{"bad format", env, []string{"label", "export-key", "exp1", "--out", filepath.Join(out, "x.jks"), "--format", "jks"}, "want pkcs12 or pem"},
		{"no --out", env, []string{"label", "export-key", "exp1", "--passphrase-file", passPath}, "out"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, tc.env, tc.args...)
			if code == 0 || !strings.Contains(strings.ToLower(stderr), tc.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, stderr, tc.want)
			}
			for i, a := range tc.args {
				if a == "--out" {
					if _, err := os.Stat(tc.args[i+1]); !os.IsNotExist(err) {
						t.Fatalf("a refused export left %s behind (%v)", tc.args[i+1], err)
					}
				}
			}
		})
	}

	t.Run("group rollover", func(t *testing.T) {
		mustRun(t, env, "group", "create", "tapes", "--family", "3592", "--alias1", "exp1", "--alias2", "exp2")
		at := "2030-01-02T03:04:05Z"
		var g map[string]any
		decodeJSON(t, mustRun(t, env, "group", "rollover", "tapes", "--label1", "exp2", "--label2", "partner",
			"--at", at, "-o", "json"), &g)
		ros, _ := g["rollovers"].([]any)
		if g["alias1"] != "exp1" || len(ros) != 1 || ros[0].(map[string]any)["at"] != at ||
			ros[0].(map[string]any)["alias2"] != "partner" {
			t.Fatalf("group rollover printed %v", g)
		}
		var list []map[string]any
		decodeJSON(t, mustRun(t, env, "group", "list", "-o", "json"), &list)
		found := false
		for _, x := range list {
			if x["name"] == "tapes" {
				found = len(x["rollovers"].([]any)) == 1
			}
		}
		if !found {
			t.Fatalf("group list does not show the rollover: %v", list)
		}
		if table := mustRun(t, env, "group", "show", "tapes"); !strings.Contains(table, "ROLLOVER AT") || !strings.Contains(table, at) {
			t.Fatalf("group show:\n%s", table)
		}
		for _, bad := range []struct {
			name string
			args []string
			want string
		}{
			{"unknown label", []string{"--label1", "nosuch", "--at", at}, "not found"},
			{"no private key", []string{"--label1", "partner", "--label2", "partner", "--at", at}, "private key"},
			{"bad time", []string{"--label1", "exp2", "--at", "tomorrow"}, "rfc 3339"},
			{"nothing", []string{"--at", at}, "--label1"},
		} {
			t.Run(bad.name, func(t *testing.T) {
				_, stderr, code := runEnv(t, env, append([]string{"group", "rollover", "tapes"}, bad.args...)...)
				if code == 0 || !strings.Contains(strings.ToLower(stderr), bad.want) {
					t.Fatalf("exit %d, stderr %q; want %q", code, stderr, bad.want)
				}
			})
		}
		var cancelled map[string]any
		decodeJSON(t, mustRun(t, env, "group", "rollover", "tapes", "--cancel", "--at", at, "-o", "json"), &cancelled)
		if _, ok := cancelled["rollovers"]; ok || cancelled["alias1"] != "exp1" {
			t.Fatalf("after cancel: %v", cancelled)
		}
		var now map[string]any
		decodeJSON(t, mustRun(t, env, "group", "rollover", "tapes", "--label1", "exp2", "--at", "now", "-o", "json"), &now)
		if now["alias1"] != "exp2" || now["alias2"] != "exp2" {
			t.Fatalf("an immediate rollover: %v", now)
		}
	})
}
