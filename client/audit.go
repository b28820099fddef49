package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditClient identifies who made an audited request.
type AuditClient struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	Name        string `json:"name,omitempty"`
	Role        string `json:"role,omitempty"`
	DeviceID    string `json:"device_id,omitempty"`
	Serial      string `json:"serial,omitempty"`
	WWN         string `json:"wwn,omitempty"`
}

// AuditRecord is one record of the audit trail: a request served or
// refused, chained to the previous record by an HMAC. It never holds key
// material.
type AuditRecord struct {
	Seq       uint64        `json:"seq"`
	Time      time.Time     `json:"time"`
	Node      string        `json:"node,omitempty"`
	Type      string        `json:"type"`     // key, lifecycle, auth, device, config, server, query
	Protocol  string        `json:"protocol"` // kmip, device, admin, server
	Operation string        `json:"operation"`
	Client    AuditClient   `json:"client"`
	Remote    string        `json:"remote,omitempty"`
	Objects   []string      `json:"objects,omitempty"`
	Labels    []string      `json:"labels,omitempty"`
	Volser    string        `json:"volser,omitempty"`
	Outcome   string        `json:"outcome"` // success, failure, denied
	Reason    string        `json:"reason,omitempty"`
	Latency   time.Duration `json:"latency_ns,omitempty"`
	Prev      string        `json:"prev"`
	MAC       string        `json:"mac"`
}

// AuditFilter selects audit records; empty fields do not filter.
type AuditFilter struct {
	// Since and Until bound the record time, inclusive.
	Since, Until time.Time
	// Device matches the client's device id, drive serial, WWN, name or
	// certificate fingerprint.
	Device    string
	Object    string
	Label     string
	Volser    string
	Outcome   string
	Operation string
	Type      string
	// Limit keeps the last Limit matching records; 0 is the server's
	// default (1,000).
	Limit int
}

// values encodes f as query parameters.
func (f AuditFilter) values() url.Values {
	q := url.Values{}
	for name, v := range map[string]string{"device": f.Device, "object": f.Object, "label": f.Label, "volser": f.Volser,
		"outcome": f.Outcome, "operation": f.Operation, "type": f.Type} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// AuditHead is the chain head anchored in the server's store.
type AuditHead struct {
	Seq  uint64    `json:"seq"`
	MAC  string    `json:"mac"`
	Time time.Time `json:"time"`
}

// AuditProblem is the first altered, removed or reordered record.
type AuditProblem struct {
	Kind   string `json:"kind"` // altered, removed, reordered
	File   string `json:"file"`
	Line   int    `json:"line"`
	Seq    uint64 `json:"seq"`
	Detail string `json:"detail"`
}

// AuditVerification is the server's verification of its audit trail.
type AuditVerification struct {
	OK            bool          `json:"ok"`
	Files         int           `json:"files"`
	Records       uint64        `json:"records"`
	FirstSeq      uint64        `json:"first_seq"`
	LastSeq       uint64        `json:"last_seq"`
	Anchored      AuditHead     `json:"anchored"`
	AnchorChecked bool          `json:"anchor_checked"`
	Problem       *AuditProblem `json:"problem,omitempty"`
}

// Audit returns the audit records matching f, oldest first (admin or
// auditor role).
func (c *Client) Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var out []AuditRecord
	if err := c.do(ctx, http.MethodGet, "/v1/audit", f.values(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// VerifyAudit has the server verify its audit trail (admin or auditor
// role). A tampered trail is not an error: OK is false and Problem names
// the first bad record.
func (c *Client) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	var out AuditVerification
	if err := c.do(ctx, http.MethodPost, "/v1/audit/verify", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
