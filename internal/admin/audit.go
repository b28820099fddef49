package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
)

// auditReaders may search and verify the audit trail.
const auditReaders = allowAdmin | allowAuditor

// Audit search limits.
const (
	defaultAuditPage = 1000
	maxAuditPage     = 100_000
)

// AuditTrail is what the admin API reads of the audit trail;
// *audit.Trail implements it.
type AuditTrail interface {
	// Search returns the records matching f, oldest first.
	Search(ctx context.Context, f audit.Filter) ([]audit.Record, error)
	// Verify checks the chain and the anchored head.
	Verify(ctx context.Context) (audit.Report, error)
}

// AuditVerification is the answer to POST /v1/audit/verify.
type AuditVerification struct {
	// OK is true when the trail verifies.
	OK bool `json:"ok"`
	audit.Report
}

// auditTrail returns the trail, or a 404 when the server keeps none.
func (h *Handler) auditTrail() (AuditTrail, error) {
	if h.cfg.AuditTrail == nil {
		return nil, notFound("this server keeps no audit trail")
	}
	return h.cfg.AuditTrail, nil
}

// auditFilter reads ?since=&until=&device=&object=&label=&volser=
// &outcome=&operation=&type=&limit=.
func auditFilter(c *call) (audit.Filter, error) {
	v := c.r.URL.Query()
	f := audit.Filter{
		Device: v.Get("device"), Object: v.Get("object"), Label: v.Get("label"), Volser: v.Get("volser"),
		Operation: v.Get("operation"), Outcome: audit.Outcome(v.Get("outcome")), Type: audit.Type(v.Get("type")),
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return f, badRequest("%s %q: want an RFC 3339 time such as 2024-03-01T12:00:00Z", p.name, s)
		}
		*p.dst = t
	}
	switch f.Outcome {
	case "", audit.Success, audit.Failure, audit.Denied:
	default:
		return f, badRequest("outcome %q: want success, failure or denied", f.Outcome)
	}
	if f.Type != "" {
		if _, err := audit.ParseTypes(string(f.Type)); err != nil || f.Type == "all" {
			return f, badRequest("type %q: want one of %v", f.Type, audit.Types())
		}
	}
	var err error
	if f.Limit, err = intParam(c, "limit", defaultAuditPage, maxAuditPage); err != nil {
		return f, err
	}
	if f.Limit == 0 {
		f.Limit = defaultAuditPage
	}
	return f, nil
}

// searchAudit answers GET /v1/audit: the last matching records (up to
// limit), oldest first.
func (h *Handler) searchAudit(w http.ResponseWriter, c *call) error {
	tr, err := h.auditTrail()
	if err != nil {
		return err
	}
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	recs, err := tr.Search(c.ctx, f)
	if err != nil {
		return fmt.Errorf("admin: search audit: %w", err)
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	return writeJSON(w, http.StatusOK, recs)
}

// verifyAudit answers POST /v1/audit/verify: 200 with ok false and the
// first bad record when the trail was tampered with.
func (h *Handler) verifyAudit(w http.ResponseWriter, c *call) error {
	tr, err := h.auditTrail()
	if err != nil {
		return err
	}
	rep, err := tr.Verify(c.ctx)
	if err != nil && !errors.Is(err, audit.ErrTampered) {
		return fmt.Errorf("admin: verify audit: %w", err)
	}
	if rep.Problem != nil {
		p := *rep.Problem
		p.File = filepath.Base(p.File) // the file's name, not the server's paths
		rep.Problem = &p
		h.log.Warn("admin: audit trail does not verify", "problem", rep.Problem.Error(), "client", c.principal.Name)
	}
	return writeJSON(w, http.StatusOK, AuditVerification{OK: rep.Problem == nil, Report: rep})
}
