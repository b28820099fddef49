package admin

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
)

// revokeRequest is the body of POST /v1/certs/revoke: a fingerprint or a
// PEM certificate, and an optional reason.
type revokeRequest struct {
	Fingerprint string `json:"fingerprint"`
	Certificate string `json:"certificate"`
	Reason      string `json:"reason"`
}

// maxReasonLen bounds a revocation reason.
const maxReasonLen = 256

// listRevoked answers GET /v1/certs: the revoked certificates.
func (h *Handler) listRevoked(w http.ResponseWriter, _ *call) error {
	list, err := h.cfg.Devices.Revoked()
	if err != nil {
		return err
	}
	if list == nil {
		list = []devices.RevokedCert{}
	}
	return writeJSON(w, http.StatusOK, list)
}

// revokeCert answers POST /v1/certs/revoke.
func (h *Handler) revokeCert(w http.ResponseWriter, c *call) error {
	var req revokeRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	if len(req.Reason) > maxReasonLen {
		return badRequest("reason: at most %d bytes", maxReasonLen)
	}
	rc := devices.RevokedCert{Revoked: h.cfg.Now().UTC().Truncate(time.Second), Reason: req.Reason}
	switch {
	case (req.Fingerprint == "") == (req.Certificate == ""):
		return badRequest("give either fingerprint or certificate (PEM)")
	case req.Certificate != "":
		cert, err := parseCertPEM([]byte(req.Certificate))
		if err != nil {
			return badRequest("certificate: %v", err)
		}
		rc.Fingerprint, rc.Subject = devices.Fingerprint(cert), cert.Subject.String()
	default:
		fp, err := devices.NormalizeFingerprint(req.Fingerprint)
		if err != nil {
			return err
		}
		rc.Fingerprint = fp
	}
	if err := h.cfg.Devices.Revoke(c.ctx, rc); err != nil {
		return err
	}
	h.log.Warn("admin: certificate revoked", "fingerprint", rc.Fingerprint, "subject", rc.Subject,
		"reason", rc.Reason, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, rc)
}

// issueRequest is the body of POST /v1/certs/issue.
type issueRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// IssuedCert is the answer of POST /v1/certs/issue: a client certificate
// and its private key, both PEM. The key exists nowhere else: the caller
// must keep it.
type IssuedCert struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Fingerprint string    `json:"fingerprint"`
	NotAfter    time.Time `json:"not_after"`
	Certificate string    `json:"certificate"`
	PrivateKey  string    `json:"private_key"`
}

// issueCert answers POST /v1/certs/issue.
func (h *Handler) issueCert(w http.ResponseWriter, c *call) error {
	var req issueRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	role, err := pki.ParseRole(req.Role)
	if err != nil {
		return badRequest("role %q: want one of %v", req.Role, pki.Roles())
	}
	if err := validateClientName(req.Name); err != nil {
		return err
	}
	if h.cfg.MasterKey == nil {
		return &requestError{http.StatusNotImplemented, "not-supported", "Not supported",
			"this server cannot issue certificates over the API"}
	}
	certPEM, keyPEM, err := h.issue(req.Name, role)
	if err != nil {
		return err
	}
	defer clear(keyPEM)
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return fmt.Errorf("admin: issue: read back certificate: %w", err)
	}
	h.log.Info("admin: certificate issued", "name", req.Name, "role", string(role),
		"fingerprint", devices.Fingerprint(cert), "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, IssuedCert{
		Name: req.Name, Role: string(role), Fingerprint: devices.Fingerprint(cert), NotAfter: cert.NotAfter.UTC(),
		Certificate: string(certPEM), PrivateKey: string(keyPEM),
	})
}

// issue has the CA issue a client certificate and returns it with its key.
//
// pki offers issuing only into files, so the pair is written to a private
// directory (0700) inside DIR/pki, read back and removed at once. The
// private key is a credential for the caller, which pki writes as plain PEM
// (0600) in the offline path as well.
func (h *Handler) issue(name string, role pki.Role) (certPEM, keyPEM []byte, err error) {
	dir, err := os.MkdirTemp(pki.PathsFor(h.cfg.DataDir).Dir, ".issue-")
	if err != nil {
		return nil, nil, fmt.Errorf("admin: issue: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("admin: issue: remove %s: %w", dir, rerr)
		}
	}()
	certPath, keyPath, err := pki.IssueClient(h.cfg.DataDir, h.cfg.MasterKey, name, role, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: issue: %w", err)
	}
	if certPEM, err = os.ReadFile(certPath); err != nil {
		return nil, nil, fmt.Errorf("admin: issue: %w", err)
	}
	if keyPEM, err = os.ReadFile(keyPath); err != nil {
		return nil, nil, fmt.Errorf("admin: issue: %w", err)
	}
	return certPEM, keyPEM, nil
}

// validateClientName applies pki's rule for client names (1 to 64 of
// letters, digits, '.', '_', '-'; not "." or "..") so that a bad name is
// the caller's error, not the server's.
func validateClientName(name string) error {
	if name == "" || len(name) > 64 || name == "." || name == ".." {
		return badRequest("name %q: want 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return badRequest("name %q: want 1 to 64 letters, digits, '.', '_' or '-'", name)
		}
	}
	return nil
}
