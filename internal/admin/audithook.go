package admin

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
)

// maxHeldAnswer bounds the answer held back until its audit event is
// recorded. A longer answer (a large usage export) goes out as it is
// written; if its event then cannot be recorded, the answer is cut off.
const maxHeldAnswer = 8 << 20

// maxAuditName bounds a path value copied into an event.
const maxAuditName = 256

// auditOpUnrouted is the operation of a request no route takes.
const auditOpUnrouted = "unrouted"

// problemAuditUnavailable answers a request the audit trail cannot record.
var problemAuditUnavailable = Problem{
	Type: problemTypePrefix + "audit-unavailable", Title: "Audit trail unavailable", Status: http.StatusServiceUnavailable,
	Detail: "the request was refused because the audit trail cannot record it; retry later",
}

// routeType classifies a route for Audit.event.types.
func routeType(rt *route) audit.Type {
	switch {
	case rt.method == http.MethodGet || rt.method == http.MethodHead, strings.HasPrefix(rt.name, "audit."):
		return audit.TypeQuery
	case rt.name == "key.destroy":
		return audit.TypeLifecycle
	case rt.name == "label.create", rt.name == "label.import", rt.name == "keygroup.create",
		strings.HasSuffix(rt.name, ".export-key"),
		// Bundles and migrations carry key material in or out.
		rt.name == "label.export-bundle", rt.name == "label.import-bundle", rt.name == "migrate.import":
		return audit.TypeKey
	case strings.HasPrefix(rt.name, "device."), strings.HasPrefix(rt.name, "group."),
		strings.HasPrefix(rt.name, "pending."), rt.name == "cert.revoke":
		return audit.TypeDevice
	}
	return audit.TypeConfig
}

// auditEvent starts the event of one admin request.
func (h *Handler) auditEvent(r *http.Request, op string, typ audit.Type, start time.Time) audit.Event {
	ev := audit.Event{
		Time: start.UTC(), Node: h.cfg.Node, Type: typ, Protocol: audit.ProtoAdmin, Operation: op,
		Remote: r.RemoteAddr, Outcome: audit.Success,
	}
	if cert := peerCert(r); cert != nil {
		ev.Client = audit.Client{Fingerprint: devices.Fingerprint(cert), Name: cert.Subject.CommonName}
	}
	return ev
}

// notePath adds the objects and names a route's path names: key, device
// and certificate ids as objects, label, key group and group names as
// labels.
func notePath(r *http.Request, ev *audit.Event) {
	for _, k := range []string{"id", "fp"} {
		if v := r.PathValue(k); v != "" {
			ev.Objects = append(ev.Objects, clip(v))
		}
	}
	if v := r.PathValue("name"); v != "" {
		ev.Labels = append(ev.Labels, clip(v))
	}
}

func clip(s string) string {
	if len(s) > maxAuditName {
		return s[:maxAuditName]
	}
	return s
}

// auditReady refuses a request before its work when the trail cannot
// record; it reports whether the request may go on.
func (h *Handler) auditReady(w http.ResponseWriter, r *http.Request, ev audit.Event, start time.Time) bool {
	if h.cfg.Audit == nil {
		return true
	}
	err := audit.Ready(h.cfg.Audit)
	if err == nil {
		return true
	}
	ev.Outcome, ev.Reason, ev.Latency = audit.Failure, problemAuditUnavailable.Title, time.Since(start)
	_ = h.cfg.Audit.Record(r.Context(), ev) // best effort: the trail said it cannot
	h.auditRefused(ev, err)
	writeProblem(w, problemAuditUnavailable)
	return false
}

// auditFinish records the event of an answered request, then lets the
// held answer out, or replaces it with a refusal if the event was not
// recorded.
func (h *Handler) auditFinish(ctx context.Context, w *statusRecorder, p devices.Principal, ev audit.Event, start time.Time) {
	if h.cfg.Audit == nil {
		return
	}
	if p.Name != "" {
		ev.Client.Name = p.Name
	}
	ev.Client.Role = string(p.Kind)
	if ev.Client.Role == "" && w.cert != nil {
		// Routes open to any certificate resolve no principal: name the
		// role the certificate carries.
		if id, err := pki.IdentityFromCert(w.cert); err == nil {
			ev.Client.Role = string(id.Role)
		}
	}
	code := w.code()
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		ev.Outcome = audit.Denied
	case code >= 400:
		ev.Outcome = audit.Failure
	}
	if ev.Outcome != audit.Success {
		ev.Reason = w.reason
		if ev.Reason == "" {
			ev.Reason = http.StatusText(code)
		}
	}
	ev.Latency = time.Since(start)
	if err := h.cfg.Audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		h.auditRefused(ev, err)
		w.refuse()
		return
	}
	w.release()
}

// auditRefused logs and counts a request refused for want of a trail.
func (h *Handler) auditRefused(ev audit.Event, err error) {
	h.log.Error("admin: audit record not written, request refused", "op", ev.Operation, "remote", ev.Remote,
		"client", ev.Client.Name, "err", err)
	h.cfg.Metrics.AuditFailed(string(audit.ProtoAdmin))
}

// statusRecorder remembers the status a handler wrote and, when the
// request is audited, holds the answer back until its event is recorded.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	// reason is the fixed title of the problem answered, for the event.
	reason string
	// cert is the client certificate, if any, for the event.
	cert *x509.Certificate
	// hold: the answer waits in body for release or refuse; passed: it
	// outgrew maxHeldAnswer and went out.
	hold, passed bool
	body         bytes.Buffer
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.status, s.wrote = code, true
	if !s.hold {
		s.ResponseWriter.WriteHeader(code)
	}
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	if s.hold && !s.passed {
		if s.body.Len()+len(p) <= maxHeldAnswer {
			return s.body.Write(p)
		}
		s.passed = true
		s.ResponseWriter.WriteHeader(s.status)
		if _, err := s.ResponseWriter.Write(s.body.Bytes()); err != nil {
			return 0, err
		}
		s.wipeBody()
	}
	return s.ResponseWriter.Write(p)
}

// wipeBody clears the held answer before it is dropped: it may hold an
// exported private key.
func (s *statusRecorder) wipeBody() {
	b := s.body.Bytes()
	clear(b[:cap(b)])
	s.body = bytes.Buffer{}
}

// release sends the held answer.
func (s *statusRecorder) release() {
	if !s.hold || s.passed {
		return
	}
	s.hold = false
	if s.wrote {
		s.ResponseWriter.WriteHeader(s.status)
	}
	_, _ = s.ResponseWriter.Write(s.body.Bytes())
	s.wipeBody()
}

// refuse drops the held answer and sends the audit refusal instead. An
// answer already on its way is cut off (the client sees a broken
// response, never a complete unrecorded one).
func (s *statusRecorder) refuse() {
	if !s.hold {
		return
	}
	if s.passed {
		panic(http.ErrAbortHandler)
	}
	s.hold = false
	s.wipeBody()
	clear(s.ResponseWriter.Header())
	writeProblem(s.ResponseWriter, problemAuditUnavailable)
}

// code is the status written, 200 if none was.
func (s *statusRecorder) code() int {
	if !s.wrote {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// peerCert is the request's client certificate, or nil.
func peerCert(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}
