package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// initDir creates a master key and the PKI in a fresh directory.
func initDir(t *testing.T, sans ...string) (string, barrier.MasterKey) {
	t.Helper()
	dir := t.TempDir()
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatalf("create master key: %v", err)
	}
	if err := Init(dir, mk, sans); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return dir, mk
}

func mustReadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := readCert(path)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestInitFileModes(t *testing.T) {
	dir, _ := initDir(t)
	p := PathsFor(dir)
	tests := []struct {
		name string
		path string
		mode fs.FileMode
	}{
		{name: "pki dir", path: p.Dir, mode: fs.ModeDir | 0o700},
		{name: "ca cert", path: p.CACert, mode: 0o644},
		{name: "ca key", path: p.CAKey, mode: 0o600},
		{name: "server cert", path: p.ServerCert, mode: 0o644},
		{name: "server key", path: p.ServerKey, mode: 0o600},
		{name: "admin cert", path: p.AdminCert, mode: 0o644},
		{name: "admin key", path: p.AdminKey, mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got := fi.Mode() & (fs.ModeDir | fs.ModePerm)
			if tt.mode == 0o600 {
				// Sealed files are written by the barrier: owner-only is
				// what matters.
				if got&0o077 != 0 || got&0o600 == 0 {
					t.Fatalf("mode %v, want owner-only", got)
				}
				return
			}
			if got != tt.mode {
				t.Fatalf("mode %v, want %v", got, tt.mode)
			}
		})
	}
}

func TestInitCertificates(t *testing.T) {
	dir, _ := initDir(t, "kms.example.com", "10.1.2.3", "fd00::5", "KMS.example.com")
	p := PathsFor(dir)
	ca := mustReadCert(t, p.CACert)
	server := mustReadCert(t, p.ServerCert)
	admin := mustReadCert(t, p.AdminCert)

	t.Run("ca", func(t *testing.T) {
		if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Fatalf("CA flags: IsCA=%v KeyUsage=%v", ca.IsCA, ca.KeyUsage)
		}
		if !strings.HasPrefix(ca.Subject.CommonName, "keywarden CA") {
			t.Fatalf("CA CN %q", ca.Subject.CommonName)
		}
		if _, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok {
			t.Fatalf("CA key %T, want ECDSA", ca.PublicKey)
		}
		if life := ca.NotAfter.Sub(ca.NotBefore); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
			t.Fatalf("CA lifetime %v, want about 10 years", life)
		}
		if err := ca.CheckSignatureFrom(ca); err != nil {
			t.Fatalf("CA not self-signed: %v", err)
		}
	})
	t.Run("server", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		for _, host := range []string{"localhost", "127.0.0.1", "::1", "kms.example.com", "10.1.2.3", "fd00::5"} {
			if _, err := server.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("server certificate does not verify for %q: %v", host, err)
			}
		}
		if _, err := server.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: pool}); err == nil {
			t.Error("server certificate verifies for a name it does not carry")
		}
		if got := len(server.DNSNames); got != len(slices.Compact(slices.Sorted(slices.Values(server.DNSNames)))) {
			t.Errorf("duplicate DNS names: %v", server.DNSNames)
		}
		if !slices.ContainsFunc(server.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("10.1.2.3")) }) {
			t.Errorf("IP SANs %v lack 10.1.2.3", server.IPAddresses)
		}
		if slices.Contains(server.DNSNames, "10.1.2.3") {
			t.Errorf("IP written as DNS SAN: %v", server.DNSNames)
		}
		if host, err := os.Hostname(); err == nil && validateDNSName(strings.ToLower(host)) == nil {
			if !slices.Contains(server.DNSNames, strings.ToLower(host)) {
				t.Errorf("DNS SANs %v lack host name %q", server.DNSNames, host)
			}
		}
		if server.IsCA || !slices.Contains(server.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			t.Errorf("server IsCA=%v ExtKeyUsage=%v", server.IsCA, server.ExtKeyUsage)
		}
		if life := server.NotAfter.Sub(server.NotBefore); life < 729*24*time.Hour || life > 732*24*time.Hour {
			t.Errorf("server lifetime %v, want 2 years", life)
		}
	})
	t.Run("admin", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		if _, err := admin.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("admin certificate does not verify for clientAuth: %v", err)
		}
		id, err := IdentityFromCert(admin)
		if err != nil {
			t.Fatal(err)
		}
		if id.Name != AdminName || id.Role != RoleAdmin || id.Group != "" || len(id.Fingerprint) != 64 {
			t.Fatalf("admin identity %+v", id)
		}
		if !slices.Contains(admin.Subject.OrganizationalUnit, "keywarden-role:admin") {
			t.Errorf("admin OU %v", admin.Subject.OrganizationalUnit)
		}
		if _, err := tls.LoadX509KeyPair(p.AdminCert, p.AdminKey); err != nil {
			t.Errorf("admin key pair: %v", err)
		}
	})
}

func TestInitRefusesInitialisedDir(t *testing.T) {
	dir, mk := initDir(t)
	before, err := os.ReadFile(PathsFor(dir).CACert)
	if err != nil {
		t.Fatal(err)
	}
	err = Init(dir, mk, nil)
	if !errors.Is(err, ErrInitialized) {
		t.Fatalf("second Init = %v, want ErrInitialized", err)
	}
	after, err := os.ReadFile(PathsFor(dir).CACert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("second Init changed the CA certificate")
	}
}

func TestInitRejectsBadSAN(t *testing.T) {
	tests := []struct {
		name string
		san  string
	}{
		{name: "space", san: "bad name"},
		{name: "empty", san: ""},
		{name: "empty label", san: "a..b"},
		{name: "url", san: "https://kms.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mk, err := barrier.CreateMasterKey(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := Init(dir, mk, []string{tt.san}); err == nil {
				t.Fatalf("Init accepted SAN %q", tt.san)
			}
			if _, err := os.Stat(filepath.Join(dir, "pki")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("failed Init left %s behind (stat: %v)", filepath.Join(dir, "pki"), err)
			}
		})
	}
}
