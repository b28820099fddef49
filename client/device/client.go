// Package device is the drive side of the keywarden device protocol
// (docs/device-protocol.md): a client that a tape drive, a disk array or a
// simulator uses to ask keywarden for keys over TLS with its own client
// certificate.
//
// Every call draws a random 16-byte request id once and sends the same
// frame to each configured server in turn until one answers: on a
// connection error, a timeout or a StatusInternal answer it moves to the next
// server with the same request id, so that a server that already answered
// the request returns the same result. The key a server returns is wrapped
// under the public key of the client certificate and is unwrapped here; it
// never travels in clear.
package device

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/eedk"
)

// DefaultTimeout bounds one attempt on one server when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config configures a Client.
type Config struct {
	// Servers are the device listeners (HOST:PORT) in failover order.
	Servers []string
	// TLS holds the CA that verifies the servers and, in Certificates[0], the
	// device's client certificate and private key (RSA or ECDSA P-256), to
	// which the server wraps every key.
	TLS *tls.Config
	// Timeout bounds one attempt (dial, request and answer) on one server;
	// zero means DefaultTimeout.
	Timeout time.Duration
}

// Error is a request refused by the server: the Status and fixed Message of
// the protocol's Error message.
type Error struct {
	Status  codec.Status
	Message string
}

// Error names the status and the server's message; the client's methods
// return it wrapped with the operation ("device: read key: ...").
func (e *Error) Error() string {
	return fmt.Sprintf("server refused the request: %s (%d): %s", e.Status, byte(e.Status), e.Message)
}

// Client speaks the device protocol to one or more keywarden servers. It is
// safe for concurrent use; each call uses its own connection.
type Client struct {
	servers []string
	tls     *tls.Config
	timeout time.Duration
	priv    crypto.PrivateKey
}

// New checks cfg and returns a Client. It does not connect.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("device: no server address")
	}
	for _, s := range cfg.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("device: server address %q: want HOST:PORT: %w", s, err)
		}
	}
	if cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 {
		return nil, errors.New("device: TLS config without a client certificate")
	}
	priv := cfg.TLS.Certificates[0].PrivateKey
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("device: client key type %T: want RSA or ECDSA", priv)
	}
	conf := cfg.TLS.Clone()
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{servers: append([]string(nil), cfg.Servers...), tls: conf, timeout: timeout, priv: priv}, nil
}

// WriteKey asks for a new 3592 data key (WriteKeyRequest). A zero
// req.RequestID is replaced by a fresh random id. It returns the data key
// unwrapped with the client's private key and the two EEDKs to write on the
// tape. The caller must not log or store the data key.
func (c *Client) WriteKey(ctx context.Context, req codec.WriteKeyRequest) (dataKey []byte, eedk1, eedk2 codec.EEDK, err error) {
	if req.RequestID, err = ensureID(req.RequestID); err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	m, err := c.roundTrip(ctx, req, codec.TypeWriteKeyResponse)
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, fmt.Errorf("device: write key: %w", err)
	}
	resp := m.(codec.WriteKeyResponse)
	dk, err := c.unwrap(resp.Key, codec.TypeWriteKeyResponse, req.RequestID)
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, fmt.Errorf("device: write key: %w", err)
	}
	return dk, resp.EEDK1, resp.EEDK2, nil
}

// ReadKey sends the EEDKs read from a 3592 tape (ReadKeyRequest) and returns
// the data key unwrapped with the client's private key.
func (c *Client) ReadKey(ctx context.Context, serial, volser string, e1, e2 codec.EEDK) (dataKey []byte, err error) {
	id, err := ensureID(codec.RequestID{})
	if err != nil {
		return nil, err
	}
	req := codec.ReadKeyRequest{RequestID: id, DriveSerial: serial, Volser: volser, EEDK1: e1, EEDK2: e2}
	m, err := c.roundTrip(ctx, req, codec.TypeReadKeyResponse)
	if err != nil {
		return nil, fmt.Errorf("device: read key: %w", err)
	}
	dk, err := c.unwrap(m.(codec.ReadKeyResponse).Key, codec.TypeReadKeyResponse, id)
	if err != nil {
		return nil, fmt.Errorf("device: read key: %w", err)
	}
	return dk, nil
}

// LTOWrite asks for a key for an LTO volume (LTOWriteRequest), from the
// drive's key group or by keyAlias (optional), and returns the key
// identifier to write on the tape and the key.
func (c *Client) LTOWrite(ctx context.Context, serial, volser, keyAlias string) (keyID string, key []byte, err error) {
	id, err := ensureID(codec.RequestID{})
	if err != nil {
		return "", nil, err
	}
	req := codec.LTOWriteRequest{RequestID: id, DriveSerial: serial, Volser: volser, KeyAlias: keyAlias}
	m, err := c.roundTrip(ctx, req, codec.TypeLTOWriteResponse)
	if err != nil {
		return "", nil, fmt.Errorf("device: lto write: %w", err)
	}
	resp := m.(codec.LTOWriteResponse)
	if key, err = c.unwrap(resp.Key, codec.TypeLTOWriteResponse, id); err != nil {
		return "", nil, fmt.Errorf("device: lto write: %w", err)
	}
	return resp.KeyID, key, nil
}

// LTORead sends the key identifier read from an LTO tape (LTOReadRequest;
// volser optional) and returns the key.
func (c *Client) LTORead(ctx context.Context, serial, volser, keyID string) (key []byte, err error) {
	id, err := ensureID(codec.RequestID{})
	if err != nil {
		return nil, err
	}
	req := codec.LTOReadRequest{RequestID: id, DriveSerial: serial, Volser: volser, KeyID: keyID}
	m, err := c.roundTrip(ctx, req, codec.TypeLTOReadResponse)
	if err != nil {
		return nil, fmt.Errorf("device: lto read: %w", err)
	}
	if key, err = c.unwrap(m.(codec.LTOReadResponse).Key, codec.TypeLTOReadResponse, id); err != nil {
		return nil, fmt.Errorf("device: lto read: %w", err)
	}
	return key, nil
}

// ensureID returns id, or a fresh random id when id is zero.
func ensureID(id codec.RequestID) (codec.RequestID, error) {
	if id != (codec.RequestID{}) {
		return id, nil
	}
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("device: request id: %w", err)
	}
	return id, nil
}

// unwrap opens a key wrapped for this device, bound to the response type and
// request id that carried it.
func (c *Client) unwrap(k codec.WrappedKey, t codec.Type, id codec.RequestID) ([]byte, error) {
	want := codec.WrapRSAOAEPSHA256
	if _, ok := c.priv.(*ecdsa.PrivateKey); ok {
		want = codec.WrapECDHP256
	}
	if k.Algorithm != want {
		return nil, fmt.Errorf("wrapped key algorithm %s does not match the client key (want %s)", k.Algorithm, want)
	}
	key, err := eedk.OpenAsDevice(c.priv, k.Ciphertext, codec.WrapContext(t, id))
	if err != nil {
		return nil, fmt.Errorf("unwrap key: %w", err)
	}
	if len(key) != eedk.DataKeySize {
		clear(key)
		return nil, fmt.Errorf("unwrapped key is %d bytes, want %d", len(key), eedk.DataKeySize)
	}
	return key, nil
}
