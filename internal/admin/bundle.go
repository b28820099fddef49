package admin

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/bundle"
	"github.com/keywarden/keywarden/internal/pki"
)

// bundleBody bounds an imported bundle (base64 in JSON).
const bundleBody = bundle.MaxSize/3*4 + smallBody

// bundleExportRequest is the body of POST /v1/labels/export-bundle.
type bundleExportRequest struct {
	Labels    []string `json:"labels"`
	KeyGroups []string `json:"keygroups"`
	// RecipientPEM is the receiving server's certificate
	// (DIR/pki/server.pem); or Passphrase encrypts the bundle instead.
	RecipientPEM string `json:"recipient_pem"`
	Passphrase   string `json:"passphrase"`
}

// bundleImportRequest is the body of POST /v1/labels/import-bundle.
type bundleImportRequest struct {
	Bundle []byte `json:"bundle"`
	// Passphrase opens a passphrase bundle; a bundle encrypted to this
	// server's certificate opens with its private key.
	Passphrase string `json:"passphrase"`
	// OnConflict is refuse (default), skip or rename.
	OnConflict   string `json:"on_conflict"`
	RenameSuffix string `json:"rename_suffix"`
}

// bundleServices returns the services a bundle reads and writes.
func (h *Handler) bundleServices() (bundle.Services, error) {
	if h.cfg.Labels == nil || h.cfg.KeyGroups == nil {
		return bundle.Services{}, &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "key labels or key groups are not enabled on this server"}
	}
	return bundle.Services{Labels: h.cfg.Labels, KeyGroups: h.cfg.KeyGroups, Keys: h.cfg.Keys, Logger: h.log, Now: h.cfg.Now}, nil
}

// exportLabelBundle answers a bundle of the chosen labels (certificates and
// private keys) and key groups, encrypted to the recipient certificate or
// under the passphrase. The audit trail records the call with its body's
// names; the key material leaves the server encrypted only.
func (h *Handler) exportLabelBundle(w http.ResponseWriter, c *call) error {
	s, err := h.bundleServices()
	if err != nil {
		return err
	}
	var req bundleExportRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	passphrase := []byte(req.Passphrase)
	defer clear(passphrase)
	var recipient *x509.Certificate
	switch {
	case (req.RecipientPEM == "") == (len(passphrase) == 0):
		return badRequest("give either a recipient certificate or a passphrase")
	case req.RecipientPEM != "":
		if recipient, err = parseCertPEM([]byte(req.RecipientPEM)); err != nil {
			return badRequest("recipient certificate: %v", err)
		}
	case len(passphrase) < minBackupPassphrase:
		return badRequest("the bundle passphrase must be at least %d bytes", minBackupPassphrase)
	}
	contents, err := bundle.Collect(c.ctx, s, bundle.Selection{Labels: req.Labels, KeyGroups: req.KeyGroups, Source: h.cfg.Node})
	if err != nil {
		return err
	}
	defer contents.Wipe()
	var out []byte
	if recipient != nil {
		out, err = bundle.SealRecipient(contents, recipient)
	} else {
		out, err = bundle.SealPassphrase(contents, passphrase, backup.DefaultKDF)
	}
	if err != nil {
		return badRequest("%v", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	h.log.Warn("admin: label bundle exported", "labels", req.Labels, "keygroups", req.KeyGroups,
		"to_certificate", recipient != nil, "client", c.principal.Name, "fingerprint", c.principal.Fingerprint)
	return nil
}

// importLabelBundle opens a bundle — with this server's private key when it is
// encrypted to its certificate, else with the passphrase — checks it
// against the server's labels and key groups and imports it. A write that
// fails is answered with a problem listing what was written, undone and
// left (importFailed).
func (h *Handler) importLabelBundle(w http.ResponseWriter, c *call) error {
	s, err := h.bundleServices()
	if err != nil {
		return err
	}
	var req bundleImportRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	defer clear(req.Bundle)
	passphrase := []byte(req.Passphrase)
	defer clear(passphrase)
	keys := bundle.Keys{Passphrase: passphrase}
	if bundle.IsRecipient(req.Bundle) {
		cert, priv, err := h.serverKey()
		if err != nil {
			return err
		}
		keys.Cert, keys.PrivateKey = cert, priv
	}
	contents, err := bundle.Open(req.Bundle, keys)
	if err != nil {
		return bundleError(err)
	}
	defer contents.Wipe()
	res, err := bundle.Apply(c.ctx, s, contents, bundle.ImportOptions{
		OnConflict: bundle.Policy(req.OnConflict), RenameSuffix: req.RenameSuffix,
	})
	var conflict *bundle.ConflictError
	if errors.As(err, &conflict) {
		return &requestError{http.StatusConflict, "conflict", "Conflict", conflict.Error()}
	}
	if ie, ok := asImportError(err); ok {
		return importFailed(ie)
	}
	if err != nil {
		return err
	}
	h.log.Info("admin: label bundle imported", "source", contents.Source, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, res)
}

// bundleError maps the errors of bundle.Open.
func bundleError(err error) error {
	switch {
	case errors.Is(err, backup.ErrWrongPassphrase):
		return badRequest("wrong passphrase for this bundle")
	case errors.Is(err, bundle.ErrNeedPassphrase), errors.Is(err, bundle.ErrNotBundle),
		errors.Is(err, bundle.ErrOtherRecipient):
		return badRequest("%v", err)
	case errors.Is(err, bundle.ErrDamaged), errors.Is(err, backup.ErrDamaged), errors.Is(err, backup.ErrTruncated):
		return badRequest("the bundle is damaged: %v", err)
	}
	return err
}

// serverKey returns this server's certificate and private key (sealed
// under the master key), which open bundles encrypted to it.
func (h *Handler) serverKey() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if h.cfg.MasterKey == nil || h.cfg.DataDir == "" {
		return nil, nil, &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "this server cannot open bundles encrypted to its certificate"}
	}
	p := pki.PathsFor(h.cfg.DataDir)
	certPEM, err := os.ReadFile(p.ServerCert)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: read server certificate: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: server certificate: %w", err)
	}
	var der []byte
	for _, f := range pki.SealedFiles(h.cfg.DataDir) {
		if f.Path == p.ServerKey {
			der, err = barrier.OpenFile(h.cfg.MasterKey, f.Path, f.Purpose)
		}
	}
	if err != nil || der == nil {
		return nil, nil, fmt.Errorf("admin: open server key: %w", err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: parse server key: %w", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("admin: server key is %T, not ECDSA", k)
	}
	return cert, priv, nil
}
