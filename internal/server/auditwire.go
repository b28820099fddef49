package server

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
)

// Operations of the server's own audit events.
const (
	auditOpStart = "start"
	auditOpStop  = "stop"
)

// nodeName is the node name of audit events: the configured one, else the
// host name.
func nodeName(configured string) string {
	if configured != "" {
		return configured
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "keywarden"
}

// auditServer records a server event (start, stop). A failure is logged
// and counted; the server goes on (requests are refused while the trail
// cannot record them).
func (s *Server) auditServer(op string, outcome audit.Outcome, reason string) {
	ev := audit.Event{
		Time: time.Now().UTC(), Node: s.cfg.Node, Type: audit.TypeServer, Protocol: audit.ProtoServer,
		Operation: op, Outcome: outcome, Reason: reason,
	}
	if err := s.cfg.Audit.Record(context.Background(), ev); err != nil {
		s.log.Error("audit record not written", "op", op, "err", err)
		s.metrics.AuditFailed(string(audit.ProtoServer))
	}
}

// AuditDir is the audit trail's directory under the data directory.
const AuditDir = "audit"

// auditChainPurpose derives the audit chain key from the master key.
var auditChainPurpose = []byte("audit-chain")

// openAudit opens the file trail in DIR/audit unless the configuration
// gives a recorder or turns the trail off, and sets s.cfg.Audit.
func (s *Server) openAudit(b *barrier.Barrier) error {
	if s.cfg.Audit != nil {
		return nil
	}
	if s.cfg.NoAuditTrail {
		s.log.Warn("no audit trail: keys are served without a record")
		s.cfg.Audit = audit.Discard
		return nil
	}
	tc := s.cfg.AuditTrail
	if tc.Dir == "" {
		tc.Dir = filepath.Join(s.cfg.DataDir, AuditDir)
	}
	if tc.ChainKey == nil {
		tc.ChainKey = b.IndexKey(auditChainPurpose)
	}
	if tc.Anchor == nil {
		anchor, err := audit.NewStoreAnchor(s.store, b)
		if err != nil {
			return err
		}
		tc.Anchor = anchor
	}
	if tc.OnFailure == nil {
		m := s.metrics
		tc.OnFailure = func(sink string, _ error) { m.AuditSinkFailed(sink) }
	}
	if tc.Logger == nil {
		tc.Logger = s.log.With("component", "audit")
	}
	t, err := audit.Open(context.Background(), tc)
	if err != nil {
		return err
	}
	s.trail = t
	s.cfg.Audit = t
	return nil
}

// trailOrNil is the admin API's view of the trail (search, verify); nil
// when the server keeps no file trail.
func (s *Server) trailOrNil() admin.AuditTrail {
	if s.trail == nil {
		return nil
	}
	return s.trail
}
