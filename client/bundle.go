package client

import (
	"context"
	"encoding/json"
	"errors"
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

// Problem types of a bundle import whose write failed.
const (
	// ProblemImportUndone: every write before the failed one was undone;
	// the server holds what it held before.
	ProblemImportUndone = "urn:keywarden:problem:import-undone"
	// ProblemImportIncomplete: writes are left on the server (key groups,
	// which are never undone, or a label changed meanwhile).
	ProblemImportIncomplete = "urn:keywarden:problem:import-incomplete"
)

// BundleWrite is one write of a failed import: a label or key group, by
// its name in the bundle.
type BundleWrite struct {
	Kind string `json:"kind"` // "label" or "keygroup"
	Name string `json:"name"`
	// As is a renamed label's name on the server.
	As string `json:"as,omitempty"`
	// Detail says, for a write left on the server, why it was not undone.
	Detail string `json:"detail,omitempty"`
}

// BundleImportError is an import whose write failed: the server wrote
// labels first and key groups last, and removed the labels it had
// written. Left lists what stays on the server (key groups, never undone);
// when Left is empty the server holds what it held before.
type BundleImportError struct {
	// Problem is the server's answer (status, type, title, detail).
	Problem *Error `json:"-"`
	// Failed is the write that failed.
	Failed BundleWrite `json:"failed"`
	// Written are the writes done before it, in order; Undone those
	// removed again; Left those still on the server.
	Written []BundleWrite `json:"written"`
	Undone  []BundleWrite `json:"undone"`
	Left    []BundleWrite `json:"left"`
}

// Error reads like the problem's *Error.
func (e *BundleImportError) Error() string { return e.Problem.Error() }

// Unwrap returns the problem's *Error (StatusOf finds its status).
func (e *BundleImportError) Unwrap() error { return e.Problem }

// ImportBundle has the server open and import a bundle (POST
// /v1/labels/import-bundle, admin role). A conflict refused under the
// policy is an *Error with status 409 naming every conflict; nothing is
// imported then. A write that fails is a *BundleImportError listing what
// was written, undone and left.
func (c *Client) ImportBundle(ctx context.Context, in BundleImport) (*BundleResult, error) {
	var out BundleResult
	if err := c.do(ctx, http.MethodPost, "/v1/labels/import-bundle", nil, in, &out); err != nil {
		var pe *Error
		if errors.As(err, &pe) && (pe.Type == ProblemImportUndone || pe.Type == ProblemImportIncomplete) {
			ie := &BundleImportError{Problem: pe}
			if json.Unmarshal(pe.body, ie) == nil {
				return nil, ie
			}
		}
		return nil, err
	}
	return &out, nil
}
