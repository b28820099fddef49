// Package client is the Go client of keywarden's admin API: JSON over
// HTTPS with a client certificate from the server's CA.
//
//	c, err := client.New(client.ConfigFromEnv())
//	groups, err := c.Groups(ctx)
//
// Every method answers either its result or an error; an error the server
// answered is a *Error carrying the HTTP status and the problem document's
// title and detail.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAddr       = "KEYWARDEN_ADDR"
	EnvCACert     = "KEYWARDEN_CACERT"
	EnvClientCert = "KEYWARDEN_CLIENT_CERT"
	EnvClientKey  = "KEYWARDEN_CLIENT_KEY"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// maxResponse bounds the size of a response body the client reads.
const maxResponse = 64 << 20

// Config says how to reach a keywarden server.
type Config struct {
	// Addr is the admin listener: https://HOST:PORT (a bare HOST:PORT
	// means https).
	Addr string
	// CACert is a PEM file of the CA that signed the server certificate
	// (DIR/pki/ca.pem); empty trusts the system roots.
	CACert string
	// ClientCert and ClientKey are the PEM client certificate and its
	// private key (e.g. DIR/pki/admin.pem and DIR/pki/admin-key.pem).
	ClientCert, ClientKey string
	// Addrs are further admin listeners of the same installation (the
	// other nodes of a cluster, a secondary server), in failover order.
	// Only reads (GET, which change nothing) fail over: when Addr cannot
	// be reached or answers 503 (a cluster node without a quorum), the
	// next address is tried, each within Timeout. Writes go to Addr only,
	// so that a write is never sent twice.
	Addrs []string
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
}

// ConfigFromEnv returns the configuration in KEYWARDEN_ADDR,
// KEYWARDEN_CACERT, KEYWARDEN_CLIENT_CERT and KEYWARDEN_CLIENT_KEY.
func ConfigFromEnv() Config {
	return Config{
		Addr:       os.Getenv(EnvAddr),
		CACert:     os.Getenv(EnvCACert),
		ClientCert: os.Getenv(EnvClientCert),
		ClientKey:  os.Getenv(EnvClientKey),
	}
}

// Client calls a keywarden server's admin API. It is safe for concurrent
// use.
type Client struct {
	base  *url.URL   // Addr: every request
	reads []*url.URL // Addr then Addrs: GET requests, in failover order
	http  *http.Client
	tls   *tls.Config
}

// New returns a client for the server in cfg. It reads the certificate
// files but does not connect yet.
func New(cfg Config) (*Client, error) {
	base, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	reads := []*url.URL{base}
	for _, a := range cfg.Addrs {
		u, err := parseAddr(a)
		if err != nil {
			return nil, err
		}
		reads = append(reads, u)
	}
	if cfg.ClientCert == "" || cfg.ClientKey == "" {
		return nil, fmt.Errorf("client: a client certificate and its key are required (%s, %s)", EnvClientCert, EnvClientKey)
	}
	pair, err := tls.LoadX509KeyPair(cfg.ClientCert, cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("client: load client certificate %s: %w", cfg.ClientCert, err)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("client: read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: no PEM certificate in %s", cfg.CACert)
		}
		tlsConf.RootCAs = pool
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &Client{base: base, reads: reads, http: &http.Client{Transport: tr, Timeout: timeout}, tls: tlsConf}, nil
}

// parseAddr checks an https://HOST:PORT address.
func parseAddr(addr string) (*url.URL, error) {
	if addr == "" {
		return nil, fmt.Errorf("client: no server address (%s=https://HOST:PORT)", EnvAddr)
	}
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("client: server address %q: %w", addr, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: server address %q: want https://HOST:PORT", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Error is an error answered by the server: the HTTP status and the
// problem document (RFC 9457) it sent.
type Error struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// body is the problem document, for the extension members some
	// problems carry (BundleImportError).
	body []byte
}

// Error reads "TITLE (HTTP STATUS): DETAIL".
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s (HTTP %d)", e.Title, e.Status)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// strictDecoding refuses response fields the client does not know; the
// tests turn it on to catch drift between the server and these types.
var strictDecoding = false

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (when out is not nil). query may be nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.doHeader(ctx, method, path, query, in, out)
	return err
}

func (c *Client) doHeader(ctx context.Context, method, path string, query url.Values, in, out any) (http.Header, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		body = b
	}
	bases := []*url.URL{c.base}
	if method == http.MethodGet {
		bases = c.reads
	}
	var errs []error
	for i, base := range bases {
		h, next, err := c.attempt(ctx, base, method, path, query, body, in != nil, out, i == len(bases)-1)
		if !next || ctx.Err() != nil {
			return h, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", base.Host, err))
	}
	if len(errs) == 1 {
		return nil, errors.Unwrap(errs[0])
	}
	return nil, fmt.Errorf("client: no server answered %s %s: %w", method, path, errors.Join(errs...))
}

// attempt sends one request to base. next reports a failure that lets a
// read go on to the next address: the server unreachable, or answering
// 503 (no quorum, not ready). Only the last address tried (last) gets the
// diagnosis of a refused certificate, which costs up to three seconds.
func (c *Client) attempt(ctx context.Context, base *url.URL, method, path string, query url.Values, body []byte, hasBody bool, out any, last bool) (_ http.Header, next bool, _ error) {
	// path is built from literal segments and seg-escaped values.
	target := base.String() + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, false, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if refusedCertificate(err) || (last && c.certificateRefusedAt(ctx, base.Host)) {
			return nil, false, fmt.Errorf("client: %s %s: the server ended the TLS handshake: this client certificate is probably revoked or not issued by its CA: %w", method, path, err)
		}
		return nil, true, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, true, fmt.Errorf("client: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, resp.StatusCode == http.StatusServiceUnavailable, problem(resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.Header, false, nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return resp.Header, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strictDecoding {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(out); err != nil {
		return nil, false, fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
	}
	return resp.Header, false, nil
}

// problem turns an error answer into an *Error.
func problem(resp *http.Response, body []byte) error {
	e := &Error{}
	if err := json.Unmarshal(body, e); err != nil || e.Title == "" {
		e = &Error{Title: http.StatusText(resp.StatusCode)}
		if text := strings.TrimSpace(string(body)); text != "" && len(text) <= 512 {
			e.Detail = text
		}
	}
	e.Status = resp.StatusCode
	e.body = body
	return e
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// certificateRefused tells, after a failed request, whether the server
// refuses this client's certificate: in TLS 1.3 the client completes its
// side of the handshake before the server checks the certificate, so the
// server's alert can surface as a reset or a broken pipe. It opens one
// diagnostic connection and waits briefly for an alert.
func (c *Client) certificateRefused(ctx context.Context) bool {
	return c.certificateRefusedAt(ctx, c.base.Host)
}

// certificateRefusedAt is certificateRefused for the server at host.
func (c *Client) certificateRefusedAt(ctx context.Context, host string) bool {
	d := tls.Dialer{Config: c.tls}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", host)
	if err != nil {
		return refusedCertificate(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err != nil && refusedCertificate(err)
}

// refusedCertificate reports whether the server ended the connection
// during the TLS handshake, which it does for a revoked or unknown client
// certificate (alert bad_certificate). In TLS 1.3 the client finishes its
// side of the handshake first, so the alert may surface only as the HTTP/2
// connection failing to start.
func refusedCertificate(err error) bool {
	var alert tls.AlertError
	if errors.As(err, &alert) && alert == 42 {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls: bad certificate") ||
		strings.Contains(msg, "http2: client conn could not be established")
}
