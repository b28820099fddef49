package device

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"net"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
)

// peer is the client of one connection.
type peer struct {
	cert   *x509.Certificate
	remote string
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
func (s *Server) exchange(ctx context.Context, p *peer, frame []byte) ([]byte, bool) {
	hdr, err := codec.ParseHeader(frame)
	if err != nil {
		s.log.Debug("device: header refused, closing", "remote", p.remote, "err", err)
		return nil, false
	}
	keep := ctx.Err() == nil // once draining, answer and close
	msg, err := codec.Decode(frame)
	if err != nil {
		s.log.Info("device: request refused", "remote", p.remote, "type", hdr.Type.String(), "err", err)
		return s.errorFrame(hdr.RequestID, codec.ErrMalformed), keep
	}
	if !msg.Type().IsRequest() {
		s.log.Info("device: not a request", "remote", p.remote, "type", hdr.Type.String())
		return s.errorFrame(hdr.RequestID, ErrBadRequest), keep
	}
	// Requests run to completion even while the server drains.
	rctx := context.WithoutCancel(ctx)
	out, err := s.serveRequest(rctx, p, msg, requestDigest(frame))
	if err != nil {
		st, _ := statusOf(err)
		s.log.Info("device: request failed", "remote", p.remote, "type", hdr.Type.String(), "status", st.String(), "err", err)
		return s.errorFrame(hdr.RequestID, err), keep
	}
	return out, keep
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
