package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Backup asks the server for an encrypted backup of everything it holds
// (POST /v1/backup, admin role) and copies it to w as it arrives. The
// server encrypts it under passphrase, which travels in the request body
// over the mutually authenticated TLS connection. It returns the number of
// bytes written.
//
// The request is bounded by ctx only, not by Config.Timeout: a backup
// takes as long as the store is large. A stream cut short is not an error
// here when the server has already answered 200: check the file with
// internal/backup's Verify (keywarden backup does) before relying on it.
func (c *Client) Backup(ctx context.Context, passphrase []byte, w io.Writer) (int64, error) {
	body, err := json.Marshal(struct {
		Passphrase string `json:"passphrase"`
	}{string(passphrase)})
	if err != nil {
		return 0, fmt.Errorf("client: encode backup request: %w", err)
	}
	defer clear(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/v1/backup", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("client: backup: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/octet-stream, application/problem+json")
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		if refusedCertificate(err) || c.certificateRefused(ctx) {
			return 0, fmt.Errorf("client: backup: the server ended the TLS handshake: this client certificate is probably revoked or not issued by its CA: %w", err)
		}
		return 0, fmt.Errorf("client: backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return 0, problem(resp, data)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("client: backup: read answer: %w", err)
	}
	return n, nil
}
