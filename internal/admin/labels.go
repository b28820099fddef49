package admin

import (
	"net/http"
	"time"

	"github.com/keywarden/keywarden/internal/labels"
)

// Label is a key label as the admin API shows it. Private key material
// never appears here.
type Label struct {
	Name          string    `json:"name"`
	Bits          int       `json:"bits"`
	OAEPHash      string    `json:"oaep_hash"`
	HasPrivateKey bool      `json:"has_private_key"`
	KeyHash       string    `json:"key_hash"`
	Subject       string    `json:"subject"`
	NotAfter      time.Time `json:"not_after"`
	CertificateID string    `json:"certificate_id"`
	PublicKeyID   string    `json:"public_key_id"`
	PrivateKeyID  string    `json:"private_key_id,omitempty"`
	// HSM: the private key lives in the PKCS#11 token HSMToken (key id
	// HSMKeyID) and never leaves it.
	HSM      bool   `json:"hsm,omitempty"`
	HSMToken string `json:"hsm_token,omitempty"`
	HSMKeyID string `json:"hsm_key_id,omitempty"`
}

// labelCreateRequest is the body of POST /v1/labels.
type labelCreateRequest struct {
	Name       string `json:"name"`
	Bits       int    `json:"bits"`
	OAEPHash   string `json:"oaep_hash"`
	SelfSigned bool   `json:"self_signed"`
	// HSM generates the key pair in the server's PKCS#11 token.
	HSM bool `json:"hsm"`
}

// labelImportRequest is the body of POST /v1/labels/import.
type labelImportRequest struct {
	Name    string `json:"name"`
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
	// PKCS12 is a PKCS#12 file (base64 in JSON) opened with Password; it
	// replaces CertPEM and KeyPEM.
	PKCS12   []byte `json:"pkcs12"`
	Password string `json:"password"`
	OAEPHash string `json:"oaep_hash"`
}

func labelJSON(l *labels.Label) Label {
	return Label{
		Name: l.Name, Bits: l.Bits, OAEPHash: l.OAEPHash, HasPrivateKey: l.HasPrivateKey, KeyHash: l.KeyHash,
		Subject: l.Subject, NotAfter: l.NotAfter, CertificateID: l.CertificateID, PublicKeyID: l.PublicKeyID,
		PrivateKeyID: l.PrivateKeyID, HSM: l.HSM, HSMToken: l.HSMToken, HSMKeyID: l.HSMKeyID,
	}
}

// labelService returns the label service, or a 503 when the server runs
// without one.
func (h *Handler) labelService() (*labels.Service, error) {
	if h.cfg.Labels == nil {
		return nil, &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "key labels are not enabled on this server"}
	}
	return h.cfg.Labels, nil
}

func (h *Handler) listLabels(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	list, err := s.List(c.ctx)
	if err != nil {
		return err
	}
	out := make([]Label, 0, len(list))
	for i := range list {
		out = append(out, labelJSON(&list[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) showLabel(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	l, err := s.Get(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, labelJSON(l))
}

func (h *Handler) labelCert(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	certPEM, err := s.ExportCert(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-pem-file")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(certPEM)
	return nil
}

func (h *Handler) createLabel(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	var req labelCreateRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	l, err := s.Create(c.ctx, req.Name, labels.CreateOptions{Bits: req.Bits, OAEPHash: req.OAEPHash, SelfSigned: req.SelfSigned, HSM: req.HSM})
	if err != nil {
		return err
	}
	h.log.Info("admin: key label created", "label", l.Name, "bits", l.Bits, "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, labelJSON(l))
}

func (h *Handler) importLabel(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	var req labelImportRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	l, err := s.Import(c.ctx, req.Name, labels.ImportOptions{
		CertPEM: []byte(req.CertPEM), KeyPEM: []byte(req.KeyPEM), OAEPHash: req.OAEPHash,
		PKCS12: req.PKCS12, Password: req.Password,
	})
	if err != nil {
		return err
	}
	h.log.Info("admin: key label imported", "label", l.Name, "private_key", l.HasPrivateKey, "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, labelJSON(l))
}

// labelKeyExportRequest is the body of POST /v1/labels/{name}/export-key.
type labelKeyExportRequest struct {
	// Format is "pkcs12" (default) or "pem".
	Format string `json:"format"`
	// Passphrase encrypts the PKCS#12 file; empty for PEM.
	Passphrase string `json:"passphrase"`
}

// exportLabelKey answers a label's private key: a PKCS#12 file encrypted
// under the request's passphrase (with its certificate), or PEM PKCS#8.
// The route is for the admin role only; the audit trail records each call
// with the label. The key and the passphrase are never logged.
func (h *Handler) exportLabelKey(w http.ResponseWriter, c *call) error {
	s, err := h.labelService()
	if err != nil {
		return err
	}
	var req labelKeyExportRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	name := c.r.PathValue("name")
	out, err := s.ExportPrivateKey(c.ctx, name, labels.ExportOptions{Format: req.Format, Passphrase: req.Passphrase})
	if err != nil {
		return err
	}
	defer clear(out)
	contentType := "application/x-pkcs12"
	if req.Format == labels.FormatPEM {
		contentType = "application/x-pem-file"
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	format := req.Format
	if format == "" {
		format = labels.FormatPKCS12
	}
	h.log.Warn("admin: key label private key exported", "label", name, "format", format,
		"client", c.principal.Name, "fingerprint", c.principal.Fingerprint)
	return nil
}
