// Package kmip is keywarden's KMIP front end: the connection layer
// (conn.go: TLS, deadlines, limits, panic recovery), the router and the
// operation handlers, on top of the ovh/kmip-go codec.
package kmip

import (
	"context"
	"crypto/x509"
)

// Peer is the authenticated party on a connection.
type Peer struct {
	// RemoteAddr is the network address of the client, for logs and audit.
	RemoteAddr string
	// Certificate is the client's leaf certificate, verified against the
	// client CA during the TLS handshake. Never nil for a served request.
	Certificate *x509.Certificate
	// ConnID numbers the connections of a Server, starting at 1.
	ConnID uint64
}

// MessageHandler answers one validated request message with one response
// message (TTLV bytes).
//
// req is a complete request message that wire.Validate accepted; the
// handler owns it and may modify it (the ovh decoder does, for negative
// BigIntegers). The returned bytes are written to the client as they are;
// a nil or empty response is treated as a handler failure. ctx is
// cancelled when the request is over or the server gives up draining.
// A panic in HandleMessage is recovered by the connection layer, which
// answers a generic failure and closes that connection.
type MessageHandler interface {
	HandleMessage(ctx context.Context, peer Peer, req []byte) []byte
}

// MessageHandlerFunc adapts a function to a MessageHandler.
type MessageHandlerFunc func(ctx context.Context, peer Peer, req []byte) []byte

// HandleMessage calls f.
func (f MessageHandlerFunc) HandleMessage(ctx context.Context, peer Peer, req []byte) []byte {
	return f(ctx, peer, req)
}
