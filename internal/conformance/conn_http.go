package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// Encoding is a KMIP message encoding carried over HTTPS.
type Encoding string

// The encodings of the message encoding profiles (MSGENC-HTTPS,
// MSGENC-XML, MSGENC-JSON), by their content type.
const (
	EncodingTTLV Encoding = "application/octet-stream"
	EncodingXML  Encoding = "text/xml"
	EncodingJSON Encoding = "application/json"
)

// HTTPConn is a Conn that POSTs each request to a KMIP over HTTPS
// endpoint in one encoding. The suite still hands it binary TTLV: it is
// converted to the encoding on the way out and back on the way in, through
// the typed messages of ovh/kmip-go, so that a vector is compared exactly as
// over TLS.
type HTTPConn struct {
	url    string
	enc    Encoding
	client *http.Client
}

// DialHTTP returns a Conn to the KMIP over HTTPS endpoint at url (for
// example https://127.0.0.1:PORT/kmip) using enc. The configuration is
// copied; TLS versions below 1.2 are never offered.
func DialHTTP(url string, cfg *tls.Config, enc Encoding) (Conn, error) {
	c := &tls.Config{}
	if cfg != nil {
		c = cfg.Clone()
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	switch enc {
	case EncodingTTLV, EncodingXML, EncodingJSON:
	default:
		return nil, fmt.Errorf("conformance: unknown encoding %q", enc)
	}
	return &HTTPConn{url: url, enc: enc, client: &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: defaultTimeout}}, nil
}

// RoundTrip converts the TTLV request to the connection's encoding, POSTs
// it, and converts the response back to TTLV.
func (c *HTTPConn) RoundTrip(ctx context.Context, req []byte) ([]byte, error) {
	body, err := c.encode(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("conformance: http request: %w", err)
	}
	hreq.Header.Set("Content-Type", string(c.enc))
	resp, err := c.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("conformance: post %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("conformance: read http response: %w", err)
	}
	if len(out) > MaxResponseSize {
		return nil, fmt.Errorf("conformance: http response exceeds %d bytes", MaxResponseSize)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("conformance: http status %d: %.200s", resp.StatusCode, out)
	}
	if got := resp.Header.Get("Content-Type"); got != string(c.enc) {
		return nil, fmt.Errorf("conformance: response content type %q, want %q", got, c.enc)
	}
	return c.decode(out)
}

// encode converts a TTLV request message to the connection's encoding.
func (c *HTTPConn) encode(req []byte) (out []byte, err error) {
	if c.enc == EncodingTTLV {
		return req, nil
	}
	defer recoverTo(&err)
	if v, ok := kmip2.PeekVersion(req); ok && v.ProtocolVersionMajor == 2 {
		return c.encode2(req) // conn_http2.go
	}
	var msg kmip.RequestMessage
	if err := ttlv.UnmarshalTTLV(req, &msg); err != nil {
		return nil, fmt.Errorf("conformance: decode request for %s: %w", c.enc, err)
	}
	if c.enc == EncodingXML {
		return ttlv.MarshalXML(&msg), nil
	}
	return ttlv.MarshalJSON(&msg), nil
}

// decode converts a response in the connection's encoding to TTLV.
func (c *HTTPConn) decode(resp []byte) (out []byte, err error) {
	if c.enc == EncodingTTLV {
		return resp, nil
	}
	defer recoverTo(&err)
	var msg kmip.ResponseMessage
	unmarshal := ttlv.UnmarshalXML
	if c.enc == EncodingJSON {
		unmarshal = ttlv.UnmarshalJSON
	}
	if out, ok := decode2(unmarshal, resp); ok {
		return out, nil // conn_http2.go
	}
	if err := unmarshal(resp, &msg); err != nil {
		return nil, fmt.Errorf("conformance: decode %s response: %w", c.enc, err)
	}
	return ttlv.MarshalTTLV(&msg), nil
}

// Close releases the idle connections.
func (c *HTTPConn) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// recoverTo turns a panic of the ovh codecs into an error.
func recoverTo(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("conformance: codec: %v", p)
	}
}

// EncodingFor returns the encoding a vector file is replayed in: the
// MSGENC-XML and MSGENC-JSON files in theirs, the MSGENC-HTTPS files in
// TTLV over HTTPS; ok is false for every other file (TTLV over TLS).
func EncodingFor(file string) (enc Encoding, ok bool) {
	tokens := nameTokens(file)
	if len(tokens) < 2 || Profile(file) != "MSGENC" {
		return "", false
	}
	switch tokens[1] {
	case "XML":
		return EncodingXML, true
	case "JSON":
		return EncodingJSON, true
	case "HTTPS":
		return EncodingTTLV, true
	}
	return "", false
}
