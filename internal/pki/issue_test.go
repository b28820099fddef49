package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier"
)

func TestIssueClient(t *testing.T) {
	dir, mk := initDir(t)
	ca := mustReadCert(t, PathsFor(dir).CACert)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, role := range Roles() {
		t.Run(string(role), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out") // created by IssueClient
			name := "client-" + string(role)
			certPath, keyPath, err := IssueClient(dir, mk, name, role, out)
			if err != nil {
				t.Fatal(err)
			}
			if certPath != filepath.Join(out, name+".pem") || keyPath != filepath.Join(out, name+"-key.pem") {
				t.Fatalf("paths %q, %q", certPath, keyPath)
			}
			fi, err := os.Stat(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
			}
			cert := mustReadCert(t, certPath)
			if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) || slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
				t.Fatalf("ExtKeyUsage %v, want clientAuth only", cert.ExtKeyUsage)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("issued certificate does not verify: %v", err)
			}
			id, err := IdentityFromCert(cert)
			if err != nil {
				t.Fatal(err)
			}
			if id.Name != name || id.Role != role {
				t.Fatalf("identity %+v, want name %q role %q", id, name, role)
			}
			if !slices.Contains(cert.Subject.OrganizationalUnit, "keywarden-role:"+string(role)) {
				t.Errorf("OU %v", cert.Subject.OrganizationalUnit)
			}
			pemKey, err := os.ReadFile(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pemKey[:len("-----BEGIN PRIVATE KEY-----")], []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Errorf("key file is not PKCS#8 PEM")
			}
			if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
				t.Fatalf("key pair: %v", err)
			}
		})
	}
}

func TestIssueClientRefuses(t *testing.T) {
	dir, mk := initDir(t)
	out := t.TempDir()
	if _, _, err := IssueClient(dir, mk, "taken", RoleOperator, out); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	otherMK, err := barrier.CreateMasterKey(other, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dataDir string
		client  string
		role    Role
	}{
		{name: "path separator", dataDir: dir, client: "a/b", role: RoleOperator},
		{name: "parent dir", dataDir: dir, client: "..", role: RoleOperator},
		{name: "empty name", dataDir: dir, client: "", role: RoleOperator},
		{name: "unknown role", dataDir: dir, client: "x", role: Role("root")},
		{name: "existing files", dataDir: dir, client: "taken", role: RoleOperator},
		{name: "uninitialised data dir", dataDir: other, client: "y", role: RoleOperator},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := mk
			if tt.dataDir == other {
				key = otherMK
			}
			if c, k, err := IssueClient(tt.dataDir, key, tt.client, tt.role, out); err == nil {
				t.Fatalf("IssueClient accepted: wrote %q, %q", c, k)
			}
		})
	}
	t.Run("wrong master key", func(t *testing.T) {
		if _, _, err := IssueClient(dir, otherMK, "z", RoleOperator, out); err == nil {
			t.Fatal("IssueClient opened the CA key under another master key")
		}
		if _, err := os.Stat(filepath.Join(out, "z-key.pem")); err == nil {
			t.Fatal("failed IssueClient left a key file")
		}
	})
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"taken-key.pem", "taken.pem"}; !slices.Equal(names, want) {
		t.Fatalf("out dir holds %v, want %v", names, want)
	}
}
