// Package keytooltest makes keystore fixtures with the real tools — the
// JDK's keytool and openssl — for the tests of the keystore readers and of
// keywarden migrate. Without keytool the tests are skipped, unless CI=true:
// then they fail.
package keytooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Keytool returns the path of keytool, skipping the test without it (or
// failing it under CI=true).
func Keytool(t testing.TB) string {
	t.Helper()
	return need(t, "keytool", "openjdk-17-jre-headless")
}

// OpenSSL returns the path of openssl, skipping the test without it (or
// failing it under CI=true).
func OpenSSL(t testing.TB) string {
	t.Helper()
	return need(t, "openssl", "openssl")
}

func need(t testing.TB, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (install Debian's %s): %v", tool, pkg, err)
		}
		t.Skipf("%s not found (install Debian's %s): skipping", tool, pkg)
	}
	return p
}

// Run runs a tool and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// GenKeyPair adds an RSA key pair of bits with a self-signed certificate
// named CN=alias to the keystore file (created when missing) with keytool
// -genkeypair.
func GenKeyPair(t testing.TB, file, storeType, storePass, keyPass, alias string, bits int) {
	t.Helper()
	Run(t, Keytool(t), "-genkeypair", "-keyalg", "RSA", "-keysize", strconv.Itoa(bits),
		"-alias", alias, "-dname", "CN="+alias+", O=MyCo, C=US", "-validity", "3650",
		"-storetype", storeType, "-keystore", file, "-storepass", storePass, "-keypass", keyPass)
}

// ImportCert adds a trusted certificate entry (PEM or DER file) with
// keytool -importcert.
func ImportCert(t testing.TB, file, storeType, storePass, alias, certFile string) {
	t.Helper()
	Run(t, Keytool(t), "-importcert", "-noprompt", "-alias", alias, "-file", certFile,
		"-storetype", storeType, "-keystore", file, "-storepass", storePass)
}

// ExportCert writes the certificate of alias as PEM with keytool
// -exportcert -rfc.
func ExportCert(t testing.TB, file, storeType, storePass, alias, out string) {
	t.Helper()
	Run(t, Keytool(t), "-exportcert", "-rfc", "-alias", alias, "-file", out,
		"-storetype", storeType, "-keystore", file, "-storepass", storePass)
}

// PKCS12 makes a PKCS#12 file holding one RSA key pair of bits and its
// self-signed certificate, named alias, with openssl req and openssl
// pkcs12 -export; it returns the file's path.
func PKCS12(t testing.TB, dir, alias, password string, bits int) string {
	t.Helper()
	ossl := OpenSSL(t)
	key, crt, p12 := filepath.Join(dir, alias+".key"), filepath.Join(dir, alias+".crt"), filepath.Join(dir, alias+".p12")
	Run(t, ossl, "req", "-x509", "-newkey", "rsa:"+strconv.Itoa(bits), "-nodes", "-keyout", key, "-out", crt,
		"-days", "3650", "-subj", "/CN="+alias+"/O=MyCo/C=US")
	Run(t, ossl, "pkcs12", "-export", "-inkey", key, "-in", crt, "-name", alias,
		"-out", p12, "-passout", "pass:"+password)
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	return p12
}
