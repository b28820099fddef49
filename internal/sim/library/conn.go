package library

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// retryable marks an attempt that failed in a way that allows trying the
// next server: the connection, a timeout, or a server's General Failure.
type retryable struct{ err error }

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// retry wraps the failure of an attempt on addr as retryable.
func retry(addr, format string, args ...any) error {
	return &retryable{err: fmt.Errorf("%s: "+format, append([]any{addr}, args...)...)}
}

// session is one TLS connection to one server, used for the requests of
// one flow.
type session struct {
	addr string
	conn net.Conn
	// sent is set once a request has been written: the server may have
	// acted on it even if its answer is lost.
	sent bool
}

// failover runs flow on each server in turn until one completes it. A flow
// error that is not retryable ends the search; retry tells the flow
// whether an earlier server may have acted on a request.
func (c *Client) failover(ctx context.Context, flow func(s *session, retry bool) error) error {
	var errs []error
	again := false
	for _, addr := range c.servers {
		if err := ctx.Err(); err != nil {
			return err
		}
		sent, err := c.attempt(ctx, addr, again, flow)
		if err == nil {
			return nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return err
		}
		errs = append(errs, err)
		again = again || sent
	}
	return fmt.Errorf("%w: %w", ErrNoServer, errors.Join(errs...))
}

// attempt runs flow on a new connection to addr, bounded by the client's
// timeout. It reports whether a request was written.
func (c *Client) attempt(ctx context.Context, addr string, again bool, flow func(*session, bool) error) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: c.tls}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, retry(addr, "%w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return false, retry(addr, "%w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	s := &session{addr: addr, conn: conn}
	err = flow(s, again)
	return s.sent, err
}

// call sends one request message holding pls as a batch and returns the
// batch items of the answer, one per payload, in order, up to the first
// refused item (the server stops there); check turns a refusal into an
// error.
func (s *session) call(pls ...kmip.OperationPayload) ([]kmip.ResponseBatchItem, error) {
	req, err := encodeRequest(pls)
	if err != nil {
		return nil, err
	}
	s.sent = true
	if _, err := s.conn.Write(req); err != nil {
		return nil, retry(s.addr, "send: %w", err)
	}
	raw, err := readMessage(s.conn)
	if err != nil {
		return nil, retry(s.addr, "read answer: %w", err)
	}
	resp, err := decodeResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.addr, err)
	}
	items := resp.BatchItem
	if len(items) == 0 || len(items) > len(pls) {
		return nil, fmt.Errorf("%s: %d batch items for %d requests: %w", s.addr, len(items), len(pls), ErrProtocol)
	}
	for i, it := range items {
		if it.ResultStatus == kmip.ResultStatusSuccess {
			if it.ResponsePayload == nil || it.ResponsePayload.Operation() != pls[i].Operation() {
				return nil, fmt.Errorf("%s: answer to %s carries no matching payload: %w", s.addr, ttlv.EnumStr(pls[i].Operation()), ErrProtocol)
			}
			continue
		}
		if it.ResultReason == kmip.ResultReasonGeneralFailure {
			return nil, retry(s.addr, "%w", refusal(pls[i].Operation(), it))
		}
		// The batch stops at the first refused item (Batch Error
		// Continuation Option Stop).
		return items[:i+1], nil
	}
	if len(items) != len(pls) {
		return nil, fmt.Errorf("%s: %d batch items for %d requests: %w", s.addr, len(items), len(pls), ErrProtocol)
	}
	return items, nil
}

// check returns the refusal of the first failed item, if any.
func check(pls []kmip.OperationPayload, items []kmip.ResponseBatchItem) error {
	for i, it := range items {
		if it.ResultStatus != kmip.ResultStatusSuccess {
			return refusal(pls[i].Operation(), it)
		}
	}
	return nil
}

// one sends a single operation and returns its payload, or the server's
// refusal as *Error.
func (s *session) one(pl kmip.OperationPayload) (kmip.OperationPayload, error) {
	items, err := s.call(pl)
	if err != nil {
		return nil, err
	}
	if err := check([]kmip.OperationPayload{pl}, items); err != nil {
		return nil, err
	}
	return items[0].ResponsePayload, nil
}

// encodeRequest builds a KMIP 1.4 request message. The encoder panics only
// on types it does not know, which would be a bug here; the panic is turned
// into an error all the same.
func encodeRequest(pls []kmip.OperationPayload) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("library: encode request: %v", p)
		}
	}()
	msg := kmip.NewRequestMessage(kmip.V1_4, pls...)
	return ttlv.MarshalTTLV(&msg), nil
}

// decodeResponse decodes a response message, never panicking on what the
// server sent.
func decodeResponse(raw []byte) (resp kmip.ResponseMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode answer: %w", ErrProtocol)
		}
	}()
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		return kmip.ResponseMessage{}, fmt.Errorf("decode answer: %w: %w", ErrProtocol, err)
	}
	return resp, nil
}

// readMessage reads one TTLV response message: an 8-byte tag, type and
// length, then the value. The tag must be Response Message, the type
// Structure and the length at most maxMessageSize, checked before the
// value is allocated.
func readMessage(r io.Reader) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	tag := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
	if tag != kmip.TagResponseMessage || head[3] != byte(ttlv.TypeStructure) {
		return nil, fmt.Errorf("not a KMIP response message (tag %06X, type %d): %w", tag, head[3], ErrProtocol)
	}
	n := binary.BigEndian.Uint32(head[4:])
	if n > maxMessageSize || n%8 != 0 {
		return nil, fmt.Errorf("response of %d bytes (limit %d, multiple of 8): %w", n, maxMessageSize, ErrProtocol)
	}
	msg := make([]byte, 8+int(n))
	copy(msg, head)
	if _, err := io.ReadFull(r, msg[8:]); err != nil {
		return nil, err
	}
	return msg, nil
}
