package client

import (
	"context"
	"net/http"
	"time"
)

// Label is a key label: an RSA key pair with a certificate that wraps 3592
// data keys. The server never answers private key material.
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

// LabelSpec describes a label to create.
type LabelSpec struct {
	Name string `json:"name"`
	// Bits is the RSA key size (1024–4096; 0 is the server's 2048).
	Bits int `json:"bits,omitempty"`
	// OAEPHash is "SHA-256" (default) or "SHA-1".
	OAEPHash   string `json:"oaep_hash,omitempty"`
	SelfSigned bool   `json:"self_signed,omitempty"`
	// HSM generates the key pair in the server's PKCS#11 token (its
	// master key's): the private key is non-extractable and EEDKs are
	// unwrapped in the token.
	HSM bool `json:"hsm,omitempty"`
}

// LabelImport describes a label to import: a certificate, with its private
// key or (a partner's label) without.
type LabelImport struct {
	Name    string `json:"name"`
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem,omitempty"`
	// PKCS12 is a PKCS#12 file holding the certificate and its private
	// key, opened with Password; it replaces CertPEM and KeyPEM.
	PKCS12   []byte `json:"pkcs12,omitempty"`
	Password string `json:"password,omitempty"`
	OAEPHash string `json:"oaep_hash,omitempty"`
}

// Labels lists the key labels.
func (c *Client) Labels(ctx context.Context) ([]Label, error) {
	var out []Label
	if err := c.do(ctx, http.MethodGet, "/v1/labels", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Label returns the label named name.
func (c *Client) Label(ctx context.Context, name string) (*Label, error) {
	var l Label
	if err := c.do(ctx, http.MethodGet, "/v1/labels/"+seg(name), nil, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateLabel creates a key label (admin only) and returns it.
func (c *Client) CreateLabel(ctx context.Context, spec LabelSpec) (*Label, error) {
	var l Label
	if err := c.do(ctx, http.MethodPost, "/v1/labels", nil, spec, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ImportLabel imports a label's certificate, with or without its private
// key (admin only), and returns it.
func (c *Client) ImportLabel(ctx context.Context, in LabelImport) (*Label, error) {
	var l Label
	if err := c.do(ctx, http.MethodPost, "/v1/labels/import", nil, in, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// LabelCert returns a label's certificate in PEM.
func (c *Client) LabelCert(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	if err := c.do(ctx, http.MethodGet, "/v1/labels/"+seg(name)+"/cert", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Formats of ExportLabelKey.
const (
	// KeyFormatPKCS12 is a PKCS#12 file with the key and its certificate,
	// encrypted under a passphrase (at least 8 characters).
	KeyFormatPKCS12 = "pkcs12"
	// KeyFormatPEM is the key alone, PEM PKCS#8, unencrypted.
	KeyFormatPEM = "pem"
)

// LabelKeyExport says how ExportLabelKey encodes the key.
type LabelKeyExport struct {
	// Format is KeyFormatPKCS12 (default) or KeyFormatPEM.
	Format string `json:"format,omitempty"`
	// Passphrase encrypts the PKCS#12 file; empty for PEM.
	Passphrase string `json:"passphrase,omitempty"`
}

// ExportLabelKey returns a label's private key (admin only; the server
// audits every export): a PKCS#12 file encrypted under in.Passphrase, or
// unencrypted PEM. The caller must protect what it receives.
func (c *Client) ExportLabelKey(ctx context.Context, name string, in LabelKeyExport) ([]byte, error) {
	var out []byte
	if err := c.do(ctx, http.MethodPost, "/v1/labels/"+seg(name)+"/export-key", nil, in, &out); err != nil {
		return nil, err
	}
	return out, nil
}
