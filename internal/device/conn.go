package device

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
)

// peer is the client of one connection.
type peer struct {
	cert        *x509.Certificate
	remote      string
	fingerprint string // pki.Fingerprint of cert, for audit events
}

// deadlineReader gives the connection IdleTimeout until the first byte of
// a frame and ReadTimeout from then on.
type deadlineReader struct {
	conn    net.Conn
	read    time.Duration
	started bool
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	if n > 0 && !r.started {
		r.started = true
		_ = r.conn.SetReadDeadline(time.Now().Add(r.read))
	}
	return n, err
}

// readFrame reads one whole frame.
func (s *Server) readFrame(conn net.Conn) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
	return codec.ReadMessage(&deadlineReader{conn: conn, read: s.opts.ReadTimeout}, codec.MaxMessageSize)
}

// exchange answers one frame. It returns the response frame (nil: send
// nothing) and whether the connection stays open.
//
// It is the front end's single entry point: every frame gets one audit
// event, and a request the trail cannot record is refused (fail closed).
func (s *Server) exchange(ctx context.Context, p *peer, frame []byte) ([]byte, bool) {
	start := time.Now()
	// Requests run to completion even while the server drains.
	rctx := context.WithoutCancel(ctx)
	ev := s.newEvent(p, start)
	hdr, err := codec.ParseHeader(frame)
	if err != nil {
		s.log.Debug("device: header refused, closing", "remote", p.remote, "err", err)
		ev.Operation = auditOpFrame
		setOutcome(&ev, codec.ErrMalformed)
		s.record(rctx, &ev, start)
		return nil, false
	}
	keep := ctx.Err() == nil // once draining, answer and close
	ev.Operation = opName(hdr.Type)
	out, err := s.answer(rctx, p, hdr, frame, &ev)
	setOutcome(&ev, err)
	if errors.Is(err, ErrAuditUnavailable) {
		return s.errorFrame(hdr.RequestID, err), keep
	}
	if !s.record(rctx, &ev, start) {
		return s.errorFrame(hdr.RequestID, ErrAuditUnavailable), keep
	}
	if err != nil {
		return s.errorFrame(hdr.RequestID, err), keep
	}
	return out, keep
}

// answer decodes and serves one frame, filling ev with what it learns.
func (s *Server) answer(ctx context.Context, p *peer, hdr codec.Header, frame []byte, ev *audit.Event) ([]byte, error) {
	msg, err := codec.Decode(frame)
	if err != nil {
		s.log.Info("device: request refused", "remote", p.remote, "type", hdr.Type.String(), "err", err)
		return nil, fmt.Errorf("device: decode: %w", codec.ErrMalformed)
	}
	if !msg.Type().IsRequest() {
		s.log.Info("device: not a request", "remote", p.remote, "type", hdr.Type.String())
		return nil, ErrBadRequest
	}
	if !s.ready(ev) {
		return nil, ErrAuditUnavailable
	}
	out, err := s.serveRequest(ctx, p, msg, requestDigest(frame), ev)
	if err != nil {
		st, _ := statusOf(err)
		s.log.Info("device: request failed", "remote", p.remote, "type", hdr.Type.String(), "status", st.String(), "err", err)
		return nil, err
	}
	return out, nil
}

// errorFrame encodes the Error answering a failed request.
func (s *Server) errorFrame(id codec.RequestID, err error) []byte {
	st, msg := statusOf(err)
	out, encErr := codec.Encode(codec.Error{RequestID: id, Status: st, Message: msg})
	if encErr != nil {
		s.log.Error("device: encode error response", "err", encErr)
		return nil
	}
	return out
}

// requestDigest is the SHA-256 of a request's type and body, to tell a
// retry from another request under the same id.
func requestDigest(frame []byte) [32]byte {
	h := sha256.New()
	h.Write(frame[5:6])
	h.Write(frame[codec.HeaderSize:])
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// errorsIsAny reports whether err matches one of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
