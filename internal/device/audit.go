package device

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/usage"
)

// ErrAuditUnavailable: the audit trail cannot record the request, so it is
// refused (fail closed).
var ErrAuditUnavailable = errors.New("device: audit trail unavailable")

// Operation names of audit events that are not a decoded request.
const (
	auditOpFrame = "frame" // a frame whose header could not be read
)

// requestOps name the request types in audit events, as the usage log does.
var requestOps = map[codec.Type]string{
	codec.TypeWriteKeyRequest: "write", codec.TypeReadKeyRequest: "read", codec.TypeRekeyRequest: "rekey",
	codec.TypeLTOWriteRequest: "lto-write", codec.TypeLTOReadRequest: "lto-read",
	codec.TypeDiskKeyCreateRequest: "disk-create", codec.TypeDiskUnlockRequest: "disk-unlock",
}

// opName is the audit operation of a message type.
func opName(t codec.Type) string {
	if n, ok := requestOps[t]; ok {
		return n
	}
	return t.String()
}

// newEvent starts the audit event of one frame from p.
func (s *Server) newEvent(p *peer, start time.Time) audit.Event {
	return audit.Event{
		Time: start.UTC(), Node: s.opts.Node, Type: audit.TypeKey, Protocol: audit.ProtoDevice,
		Client: audit.Client{Fingerprint: p.fingerprint, Name: p.cert.Subject.CommonName, Role: "device"},
		Remote: p.remote, Outcome: audit.Success,
	}
}

// setOutcome sets the outcome and fixed reason of a failed request.
func setOutcome(ev *audit.Event, err error) {
	if err == nil {
		return
	}
	st, msg := statusOf(err)
	ev.Reason = msg
	switch st {
	case codec.StatusRefused, codec.StatusUnknownDevice, codec.StatusPending:
		ev.Outcome = audit.Denied
	default:
		ev.Outcome = audit.Failure
	}
}

// record writes ev and reports whether it was recorded; a failure is
// logged and counted, and the caller refuses the request.
func (s *Server) record(ctx context.Context, ev *audit.Event, start time.Time) bool {
	if s.opts.Audit == nil {
		return true
	}
	ev.Latency = time.Since(start)
	if err := s.opts.Audit.Record(ctx, *ev); err != nil {
		s.auditRefused(ev, err)
		return false
	}
	return true
}

// ready checks, before a request's work, that the trail can record it.
func (s *Server) ready(ev *audit.Event) bool {
	if s.opts.Audit == nil {
		return true
	}
	if err := audit.Ready(s.opts.Audit); err != nil {
		s.auditRefused(ev, err)
		return false
	}
	return true
}

func (s *Server) auditRefused(ev *audit.Event, err error) {
	s.log.Error("device: audit record not written, request refused", "remote", ev.Remote, "op", ev.Operation, "err", err)
	if s.opts.AuditFailed != nil {
		s.opts.AuditFailed()
	}
}

// auditHandshake records a refused TLS handshake (an authentication
// failure). The connection closes either way: a failure to record is
// logged and counted only.
func (s *Server) auditHandshake(ctx context.Context, tc *tls.Conn, remote string, start time.Time) {
	if s.opts.Audit == nil {
		return
	}
	ev := audit.Event{
		Time: start.UTC(), Node: s.opts.Node, Type: audit.TypeAuth, Protocol: audit.ProtoDevice,
		Operation: "handshake", Remote: remote, Outcome: audit.Denied, Reason: "TLS handshake refused",
		Latency: time.Since(start),
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		ev.Client = audit.Client{Fingerprint: pki.Fingerprint(certs[0]), Name: certs[0].Subject.CommonName}
	}
	if err := s.opts.Audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error("device: audit record not written", "remote", remote, "op", ev.Operation, "err", err)
	}
}

// noteServed adds what a served request's usage record names: the drive,
// the labels (aliases) and the key identifier. None of it is key material.
func noteServed(ev *audit.Event, rec usage.Record) {
	ev.Client.Serial, ev.Client.WWN = firstNonEmpty(rec.DriveSerial, ev.Client.Serial), rec.WWN
	switch {
	case rec.Alias1 != "" && rec.Alias2 != "" && rec.Alias1 != rec.Alias2:
		ev.Labels = []string{rec.Alias1, rec.Alias2}
	case rec.Alias1 != "":
		ev.Labels = []string{rec.Alias1}
	case rec.Alias2 != "":
		ev.Labels = []string{rec.Alias2}
	}
	if rec.KeyID != "" {
		ev.Objects = []string{rec.KeyID}
	}
}

// auditBadFrame records a frame refused while it was read (bad magic,
// another version, too large, malformed header); the connection closes.
// The end of a connection or a timeout is no request and is not recorded.
func (s *Server) auditBadFrame(ctx context.Context, p *peer, err error) {
	if !errorsIsAny(err, codec.ErrBadMagic, codec.ErrUnsupportedVersion, codec.ErrTooLarge, codec.ErrMalformed) {
		return
	}
	start := time.Now()
	ev := s.newEvent(p, start)
	ev.Operation = auditOpFrame
	setOutcome(&ev, codec.ErrMalformed)
	s.record(context.WithoutCancel(ctx), &ev, start)
}
