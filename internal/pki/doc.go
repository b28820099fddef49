// Package pki manages keywarden's certificates: the server's own certificate
// authority, the server certificate its listeners present, and client
// certificates that carry a role.
//
// Everything lives in DIR/pki (mode 0700):
//
//	ca.pem             CA certificate (ECDSA P-256, 10 years)
//	ca-key.sealed      CA private key, sealed under the master key
//	server.pem         server certificate (ECDSA P-256, serverAuth, 2 years)
//	server-key.sealed  server private key, sealed under the master key
//	admin.pem          administrator client certificate (clientAuth, role admin)
//	admin-key.pem      its private key, PKCS#8 PEM, mode 0600
//
// Private keys the server itself uses (CA, server) never reach disk in the
// clear: they are sealed with barrier.SealFile. Client private keys are
// credentials handed to their holder, so they are written as PEM files with
// mode 0600 for the administrator to move elsewhere.
//
// A client's authorisation travels inside its certificate, in the
// role extension (see OIDRoleExtension), so issuing a client certificate
// needs only the files in DIR/pki and the master key, never the store: it
// works while the server runs.
package pki

import "path/filepath"

// Paths names the files of a data directory's PKI.
type Paths struct {
	Dir        string // DIR/pki
	CACert     string // DIR/pki/ca.pem
	CAKey      string // DIR/pki/ca-key.sealed
	ServerCert string // DIR/pki/server.pem
	ServerKey  string // DIR/pki/server-key.sealed
	AdminCert  string // DIR/pki/admin.pem
	AdminKey   string // DIR/pki/admin-key.pem
}

// PathsFor returns the PKI file names inside dataDir.
func PathsFor(dataDir string) Paths {
	dir := filepath.Join(dataDir, "pki")
	return Paths{
		Dir:        dir,
		CACert:     filepath.Join(dir, "ca.pem"),
		CAKey:      filepath.Join(dir, "ca-key.sealed"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.sealed"),
		AdminCert:  filepath.Join(dir, "admin.pem"),
		AdminKey:   filepath.Join(dir, "admin-key.pem"),
	}
}

// Purposes bind each sealed file to its role: barrier.OpenFile refuses a
// file sealed for another purpose, so a server key cannot be swapped in for
// the CA key.
const (
	purposeCAKey     = "keywarden/pki/ca-key"
	purposeServerKey = "keywarden/pki/server-key"
)
