package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/keywarden/keywarden/internal/barrier"
)

// File modes: certificates are public, private keys are for their owner only.
const (
	certFileMode fs.FileMode = 0o644
	keyFileMode  fs.FileMode = 0o600
	dirMode      fs.FileMode = 0o700
)

// writeNewFile creates path (which must not exist) with mode, writes data
// and syncs it. On failure the partial file is removed.
func writeNewFile(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pki: close %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	// The umask may have narrowed mode; set it exactly.
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("pki: chmod %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pki: sync %s: %w", path, err)
	}
	return nil
}

// writeCert writes cert as a PEM file.
func writeCert(path string, cert *x509.Certificate) error {
	return writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), certFileMode)
}

// writeKeyPEM writes key as a PKCS#8 PEM file readable by its owner only.
func writeKeyPEM(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: encode private key: %w", err)
	}
	defer clear(der)
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	defer clear(data)
	return writeNewFile(path, data, keyFileMode)
}

// sealKey seals key under the master key at path, bound to purpose.
func sealKey(mk barrier.MasterKey, path, purpose string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: encode private key: %w", err)
	}
	defer clear(der)
	if err := barrier.SealFile(mk, path, purpose, der); err != nil {
		return fmt.Errorf("pki: seal %s: %w", path, err)
	}
	return nil
}

// openSealedKey opens the ECDSA key sealed at path for purpose.
func openSealedKey(mk barrier.MasterKey, path, purpose string) (*ecdsa.PrivateKey, error) {
	der, err := barrier.OpenFile(mk, path, purpose)
	if err != nil {
		return nil, fmt.Errorf("pki: open %s: %w", path, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// The parser's message never contains key bytes.
		return nil, fmt.Errorf("pki: decode key in %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: key in %s is %T, want ECDSA", path, parsed)
	}
	return key, nil
}

// readCert reads a PEM file holding exactly one certificate.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: read certificate: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("pki: %s: no PEM certificate", path)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("pki: %s: more than one PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: parse %s: %w", path, err)
	}
	return cert, nil
}

// matchKey reports an error unless key is the private key of cert.
func matchKey(cert *x509.Certificate, key *ecdsa.PrivateKey, what string) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return fmt.Errorf("pki: %s certificate and sealed key do not match", what)
	}
	return nil
}

// exists reports whether path exists; errors other than "not found" count
// as existing so that callers never overwrite what they cannot see.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// syncDir fsyncs a directory so that files created in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pki: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pki: sync %s: %w", dir, err)
	}
	return nil
}
