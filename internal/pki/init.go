package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// ErrInitialized is returned by Init when DIR/pki already exists.
var ErrInitialized = errors.New("pki: already initialised")

// AdminName is the common name of the administrator certificate written by
// Init.
const AdminName = "admin"

// Init creates DIR/pki: the CA, the server certificate (naming localhost,
// 127.0.0.1, ::1, the host name and every name in sans) and the
// administrator client certificate with role admin. The CA and server keys
// are sealed under mk. Init refuses to touch an existing DIR/pki; if it fails
// half way, it removes the DIR/pki it created.
func Init(dataDir string, mk barrier.MasterKey, sans []string) (err error) {
	p := PathsFor(dataDir)
	hostname, herr := os.Hostname()
	if herr != nil {
		hostname = "" // the certificate still names localhost and the loopback IPs
	}
	dnsNames, ips, err := serverNames(hostname, sans)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, dirMode); err != nil {
		return fmt.Errorf("pki: create data directory: %w", err)
	}
	if err := os.Mkdir(p.Dir, dirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s exists", ErrInitialized, p.Dir)
		}
		return fmt.Errorf("pki: create %s: %w", p.Dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(p.Dir)
		}
	}()
	if err := os.Chmod(p.Dir, dirMode); err != nil {
		return fmt.Errorf("pki: chmod %s: %w", p.Dir, err)
	}

	now := time.Now()
	ca, caKey, err := newCA(now, hostname)
	if err != nil {
		return err
	}
	if err := writeCert(p.CACert, ca); err != nil {
		return err
	}
	if err := sealKey(mk, p.CAKey, purposeCAKey, caKey); err != nil {
		return err
	}

	server, serverKey, err := newServerCert(ca, caKey, now, hostname, dnsNames, ips)
	if err != nil {
		return err
	}
	if err := writeCert(p.ServerCert, server); err != nil {
		return err
	}
	if err := sealKey(mk, p.ServerKey, purposeServerKey, serverKey); err != nil {
		return err
	}

	admin, adminKey, err := newClientCert(ca, caKey, now, AdminName, RoleAdmin, "")
	if err != nil {
		return err
	}
	if err := writeKeyPEM(p.AdminKey, adminKey); err != nil {
		return err
	}
	if err := writeCert(p.AdminCert, admin); err != nil {
		return err
	}
	if err := syncDir(p.Dir); err != nil {
		return err
	}
	return syncDir(dataDir)
}
