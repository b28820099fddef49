package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// UsageRecord is one key served or refused, as the admin API reports it.
// It never holds key material.
type UsageRecord struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Protocol    string    `json:"protocol"`  // "device" or "kmip"
	Operation   string    `json:"operation"` // "write", "read", "lto-write", a KMIP operation, "imported", …
	Outcome     string    `json:"outcome"`   // "ok", "refused" or "failed"
	Reason      string    `json:"reason,omitempty"`
	DeviceID    string    `json:"device_id,omitempty"`
	DriveSerial string    `json:"drive_serial,omitempty"`
	WWN         string    `json:"wwn,omitempty"`
	Volser      string    `json:"volser,omitempty"`
	Alias1      string    `json:"alias1,omitempty"`
	Alias2      string    `json:"alias2,omitempty"`
	KeyID       string    `json:"key_id,omitempty"`
}

// UsageFilter selects usage records; empty fields do not filter.
type UsageFilter struct {
	Volser string
	// Alias matches alias 1, alias 2 or the key identifier.
	Alias       string
	DriveSerial string
	// From and To bound the record time, inclusive.
	From, To time.Time
	// Limit caps the records returned, oldest first; 0 is the server's
	// default (1,000 for Usage, all for ExportUsage).
	Limit int
}

// values encodes f as query parameters.
func (f UsageFilter) values() url.Values {
	q := url.Values{}
	for name, v := range map[string]string{"volser": f.Volser, "alias": f.Alias, "serial": f.DriveSerial} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Usage lists the key-usage records matching f, oldest first.
func (c *Client) Usage(ctx context.Context, f UsageFilter) ([]UsageRecord, error) {
	var out []UsageRecord
	if err := c.do(ctx, http.MethodGet, "/v1/usage", f.values(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ExportUsage returns the records matching f that name a volume, in the
// seed's KeyUsageEvent XML format.
func (c *Client) ExportUsage(ctx context.Context, f UsageFilter) ([]byte, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/v1/usage/export", f.values(), nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ImportUsage sends a seed KeyUsageEvent XML file (at most 32 MiB); the
// server stores all of its events or none. It returns the number stored.
func (c *Client) ImportUsage(ctx context.Context, xml io.Reader) (int, error) {
	const path = "/v1/usage/import"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, xml)
	if err != nil {
		return 0, fmt.Errorf("client: POST %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/xml")
	resp, err := c.http.Do(req)
	if err != nil {
		if refusedCertificate(err) {
			return 0, fmt.Errorf("client: POST %s: the server refused this client certificate (revoked, or not issued by its CA): %w", path, err)
		}
		return 0, fmt.Errorf("client: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, fmt.Errorf("client: POST %s: read answer: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		return 0, problem(resp, data)
	}
	var out struct {
		Imported int `json:"imported"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("client: POST %s: decode answer: %w", path, err)
	}
	return out.Imported, nil
}
