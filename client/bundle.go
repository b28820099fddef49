package client

import (
	"context"
	"net/http"
)

// BundleExport chooses what a label bundle carries and whom it is for:
// RecipientPEM (the receiving server's certificate, DIR/pki/server.pem)
// or Passphrase.
type BundleExport struct {
	Labels       []string `json:"labels,omitempty"`
	KeyGroups    []string `json:"keygroups,omitempty"`
	RecipientPEM string   `json:"recipient_pem,omitempty"`
	Passphrase   string   `json:"passphrase,omitempty"`
}

// BundleImport is a bundle to import and how.
type BundleImport struct {
	Bundle []byte `json:"bundle"`
	// Passphrase opens a passphrase bundle; a bundle encrypted to the
	// server's certificate needs none.
	Passphrase string `json:"passphrase,omitempty"`
	// OnConflict is "refuse" (default), "skip" or "rename" (labels only).
	OnConflict   string `json:"on_conflict,omitempty"`
	RenameSuffix string `json:"rename_suffix,omitempty"`
}

// BundleOutcome is what an import did with one label or key group.
type BundleOutcome struct {
	Kind   string `json:"kind"` // "label" or "keygroup"
	Name   string `json:"name"`
	Action string `json:"action"` // imported, identical, skipped, renamed
	As     string `json:"as,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// BundleResult is the answer of an import.
type BundleResult struct {
	Items []BundleOutcome `json:"items"`
}

// ExportBundle has the server export labels (certificates and private
// keys) and key groups as an encrypted bundle (POST
// /v1/labels/export-bundle, admin role) and returns the bundle file.
func (c *Client) ExportBundle(ctx context.Context, spec BundleExport) ([]byte, error) {
	var out []byte
	if err := c.do(ctx, http.MethodPost, "/v1/labels/export-bundle", nil, spec, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ImportBundle has the server open and import a bundle (POST
// /v1/labels/import-bundle, admin role). A conflict refused under the
// policy is an *Error with status 409 naming every conflict; nothing is
// imported then.
func (c *Client) ImportBundle(ctx context.Context, in BundleImport) (*BundleResult, error) {
	var out BundleResult
	if err := c.do(ctx, http.MethodPost, "/v1/labels/import-bundle", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
