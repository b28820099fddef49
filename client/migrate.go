package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MigrationLabel is a key label read from an EKM/ISKLM keystore: a
// certificate with its PKCS#8 private key, or a partner's certificate
// alone (KeyPEM empty).
type MigrationLabel struct {
	Name    string `json:"name"`
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem,omitempty"`
	// From says where it was read (file and alias).
	From string `json:"from,omitempty"`
}

// MigrationDrive is one drive of the drive table.
type MigrationDrive struct {
	Family string `json:"family"`
	Serial string `json:"serial"`
	WWN    string `json:"wwn,omitempty"`
	Alias1 string `json:"alias1,omitempty"`
	Alias2 string `json:"alias2,omitempty"`
	Group  string `json:"group,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// MigrationEvent is one KeyUsageEvent of the metadata file.
type MigrationEvent struct {
	DriveSSN  string    `json:"drive_ssn"`
	VolSer    string    `json:"volser"`
	DriveWWN  string    `json:"drive_wwn,omitempty"`
	KeyAlias1 string    `json:"key_alias1,omitempty"`
	KeyAlias2 string    `json:"key_alias2,omitempty"`
	Time      time.Time `json:"time"`
}

// MigrationBundle is everything read from an EKM or ISKLM instance.
type MigrationBundle struct {
	Labels    []MigrationLabel `json:"labels,omitempty"`
	Drives    []MigrationDrive `json:"drives,omitempty"`
	KeyGroups []KeyGroupSpec   `json:"key_groups,omitempty"`
	// Group receives Alias1 and Alias2 (drive.default.alias1/2) and the
	// drives that name no group.
	Group    string           `json:"group"`
	Alias1   string           `json:"alias1,omitempty"`
	Alias2   string           `json:"alias2,omitempty"`
	Usage    []MigrationEvent `json:"usage,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
}

// MigrationRequest asks the server to plan a bundle and, unless DryRun,
// apply it. OnConflict is fail (default), skip or rename.
type MigrationRequest struct {
	Bundle     MigrationBundle `json:"bundle"`
	OnConflict string          `json:"on_conflict,omitempty"`
	DryRun     bool            `json:"dry_run"`
}

// MigrationItem is one line of the plan.
type MigrationItem struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Verb is create, update, identical, conflict or rename.
	Verb   string `json:"verb"`
	Detail string `json:"detail,omitempty"`
}

// MigrationSummary counts what was done, by kind of object.
type MigrationSummary struct {
	Created       map[string]int `json:"created"`
	Identical     map[string]int `json:"identical"`
	Skipped       map[string]int `json:"skipped"`
	Renamed       map[string]int `json:"renamed"`
	UsageImported int            `json:"usage_imported"`
}

// MigrationReport is the server's answer: the plan, the summary when
// applied, and the error when conflicts or a failed step stopped it.
type MigrationReport struct {
	Items    []MigrationItem   `json:"items"`
	Warnings []string          `json:"warnings,omitempty"`
	Applied  bool              `json:"applied"`
	Summary  *MigrationSummary `json:"summary,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// Migrate sends a migration to the server (POST /v1/import, admin only),
// which plans it and, unless req.DryRun, applies it all or nothing. A
// report with conflicts (409) or a failed step (500) is returned with a
// non-nil error carrying report.Error. progress, when not nil, is called
// as the request body is sent.
func (c *Client) Migrate(ctx context.Context, req MigrationRequest, progress func(sent, total int64)) (*MigrationReport, error) {
	const path = "/v1/import"
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("client: encode POST %s: %w", path, err)
	}
	var r io.Reader = bytes.NewReader(body)
	if progress != nil {
		r = &progressReader{r: r, total: int64(len(body)), fn: progress}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, r)
	if err != nil {
		return nil, fmt.Errorf("client: POST %s: %w", path, err)
	}
	hreq.ContentLength = int64(len(body))
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	clear(body) // it holds private keys
	if err != nil {
		if refusedCertificate(err) {
			return nil, fmt.Errorf("client: POST %s: the server refused this client certificate (revoked, or not issued by its CA): %w", path, err)
		}
		return nil, fmt.Errorf("client: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("client: POST %s: read answer: %w", path, err)
	}
	isReport := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	switch {
	case resp.StatusCode == http.StatusOK, isReport && (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusInternalServerError):
	default:
		return nil, problem(resp, data)
	}
	var rep MigrationReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("client: POST %s: decode answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &rep, &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: rep.Error}
	}
	return &rep, nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	if n > 0 {
		p.fn(p.sent, p.total)
	}
	return n, err
}
