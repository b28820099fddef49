package device

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
)

// errRetry marks an attempt whose failure lets the client try the next
// server with the same request id.
var errRetry = errors.New("server unavailable")

// roundTrip encodes req once and sends the same frame to each server in
// turn, until one answers with a response of type want or a final Error.
func (c *Client) roundTrip(ctx context.Context, req codec.Message, want codec.Type) (codec.Message, error) {
	frame, err := codec.Encode(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	var errs []error
	for _, addr := range c.servers {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		m, err := c.attempt(ctx, addr, frame, req.ID(), want)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, errRetry) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no server answered: %w", errors.Join(errs...))
}

// attempt performs one exchange on a new connection to addr. Errors that
// allow a failover wrap errRetry.
func (c *Client) attempt(ctx context.Context, addr string, frame []byte, id codec.RequestID, want codec.Type) (codec.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: c.tls}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errRetry, addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errRetry, addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("%w: %s: send: %w", errRetry, addr, err)
	}
	raw, err := codec.ReadMessage(conn, codec.MaxMessageSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: read answer: %w", errRetry, addr, err)
	}
	m, err := codec.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: decode answer: %w", addr, err)
	}
	if m.ID() != id {
		return nil, fmt.Errorf("%s: answer carries another request id", addr)
	}
	if e, ok := m.(codec.Error); ok {
		de := &Error{Status: e.Status, Message: e.Message}
		if e.Status == codec.StatusInternal {
			return nil, fmt.Errorf("%w: %s: %w", errRetry, addr, de)
		}
		return nil, de
	}
	if m.Type() != want {
		return nil, fmt.Errorf("%s: answer of type %s, want %s", addr, m.Type(), want)
	}
	return m, nil
}
