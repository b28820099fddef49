package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
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
