package pki

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// IssueClient issues a client certificate named name with role, signed by
// the data directory's CA, and writes OUTDIR/NAME.pem and OUTDIR/NAME-key.pem
// (mode 0600). It reads only DIR/pki and uses mk to open the CA key; it never
// opens the store, so it can run while the server does. It refuses to
// overwrite existing files.
func IssueClient(dataDir string, mk barrier.MasterKey, name string, role Role, outDir string) (certPath, keyPath string, err error) {
	if err := validateName(name); err != nil {
		return "", "", fmt.Errorf("pki: issue client: %w", err)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", "", err
	}
	certPath = filepath.Join(outDir, name+".pem")
	keyPath = filepath.Join(outDir, name+"-key.pem")
	for _, path := range []string{certPath, keyPath} {
		if exists(path) {
			return "", "", fmt.Errorf("pki: issue client %q: %s already exists", name, path)
		}
	}

	p := PathsFor(dataDir)
	ca, err := readCert(p.CACert)
	if err != nil {
		return "", "", err
	}
	caKey, err := openSealedKey(mk, p.CAKey, purposeCAKey)
	if err != nil {
		return "", "", err
	}
	if err := matchKey(ca, caKey, "CA"); err != nil {
		return "", "", err
	}

	cert, key, err := newClientCert(ca, caKey, time.Now(), name, role, "")
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(outDir, dirMode); err != nil {
		return "", "", fmt.Errorf("pki: create %s: %w", outDir, err)
	}
	if err := writeKeyPEM(keyPath, key); err != nil {
		return "", "", err
	}
	if err := writeCert(certPath, cert); err != nil {
		_ = os.Remove(keyPath)
		return "", "", err
	}
	if err := syncDir(outDir); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}
