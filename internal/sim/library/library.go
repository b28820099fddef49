// Package library is the KMIP side of a simulated tape library, as used by
// `keywarden sim library`: a small KMIP 1.4 client over TLS that follows the
// KMIP Tape Library profile to get a key per cartridge.
//
// On write the library makes a fresh key identifier (random bytes, carried
// on the tape as its key-association data), asks the server to Create an
// AES-256 key whose Application Specific Information has namespace
// LIBRARY-LTO and, as data, the identifier in hexadecimal, with the
// cartridge's barcode as Alternative Name; it then Activates and Gets the
// key. On read it finds the key again with Locate by that Application
// Specific Information and Gets it.
//
// Servers are tried in order, each with a bounded time (dial, request and
// answer): a connection failure, a timeout or a server's General Failure
// moves to the next one. Before creating a key on a later server, the
// client looks the identifier up first, so that a key created by a server
// whose answer was lost is reused rather than duplicated.
//
// The package speaks TTLV with the codec and payload types of
// github.com/ovh/kmip-go. Key material is returned to the caller only; it
// is never logged nor included in an error.
package library

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Namespace is the Application Specific Information namespace of the keys
// of LTO cartridges (KMIP Tape Library profile).
const Namespace = "LIBRARY-LTO"

// DefaultPort is the KMIP port, used for a server address given without one.
const DefaultPort = "5696"

// DefaultTimeout bounds one attempt on one server when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// KeyIDSize is the length in bytes of the key identifiers NewKeyID makes:
// it fits the 12-byte authenticated key-association data of every LTO
// generation from LTO-4 on.
const KeyIDSize = 12

// MaxKeyIDSize is the longest key identifier accepted, in bytes: the 92
// bytes of key-association data of LTO-5 and later.
const MaxKeyIDSize = 92

// KeySize is the length of the data keys the library asks for (AES-256).
const KeySize = 32

// maxMessageSize bounds a response read from a server.
const maxMessageSize = 1 << 20

// Sentinel errors. Errors returned by this package wrap one of them, or
// *Error for a server's refusal; they are always wrapped with the
// package's context ("library: fetch key ...: ...").
var (
	// ErrNoServer reports that no configured server could be reached.
	ErrNoServer = errors.New("no server answered")
	// ErrNoKey reports that no key carries the key identifier.
	ErrNoKey = errors.New("no key carries this key identifier")
	// ErrAmbiguous reports that several keys carry the key identifier.
	ErrAmbiguous = errors.New("several keys carry this key identifier")
	// ErrProtocol reports a malformed or unexpected answer.
	ErrProtocol = errors.New("unexpected KMIP answer")
	// ErrKeyID reports a key identifier that is not even-length hexadecimal
	// of 1 to MaxKeyIDSize bytes.
	ErrKeyID = errors.New("malformed key identifier")
)

// Error is an operation the server refused: its KMIP Result Reason and
// message.
type Error struct {
	// Operation is the KMIP operation refused, e.g. "Create".
	Operation string
	// Reason is the KMIP Result Reason, e.g. "PermissionDenied".
	Reason string
	// Message is the server's Result Message.
	Message string
}

// Error names the operation, the reason and the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("server refused %s: %s: %s", e.Operation, e.Reason, e.Message)
}

// Config configures a Client.
type Config struct {
	// Servers are the KMIP listeners (HOST or HOST:PORT; the port defaults
	// to DefaultPort) in failover order.
	Servers []string
	// TLS holds the CA that verifies the servers and the library's client
	// certificate.
	TLS *tls.Config
	// Timeout bounds one attempt (dial, requests and answers) on one
	// server; zero means DefaultTimeout.
	Timeout time.Duration
}

// Client speaks KMIP to one or more servers on behalf of a tape library.
// It is safe for concurrent use; each call uses its own connection.
type Client struct {
	servers []string
	tls     *tls.Config
	timeout time.Duration
}

// New checks cfg and returns a Client. It does not connect.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("library: no server address")
	}
	servers := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		addr, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		servers = append(servers, addr)
	}
	if cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 {
		return nil, errors.New("library: TLS config without a client certificate")
	}
	conf := cfg.TLS.Clone()
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{servers: servers, tls: conf, timeout: timeout}, nil
}

// serverAddr returns s as HOST:PORT, adding DefaultPort when s has none.
func serverAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("library: empty server address")
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if host == "" || strings.ContainsAny(host, "[]/ ") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
		return "", fmt.Errorf("library: server address %q: want HOST or HOST:PORT", s)
	}
	return net.JoinHostPort(host, DefaultPort), nil
}

// Key is a cartridge's key as served by keywarden.
type Key struct {
	// KeyID is the key identifier in hexadecimal (upper case): the
	// Application Data of the key's Application Specific Information, and
	// what the tape carries as key-association data.
	KeyID string
	// UniqueIdentifier is the KMIP object's identifier on the server.
	UniqueIdentifier string
	// Material is the 32-byte AES key. The caller must not log or store it.
	Material []byte
}

// NewKeyID makes a fresh key identifier: KeyIDSize random bytes, in
// upper-case hexadecimal.
func NewKeyID() (string, error) {
	b := make([]byte, KeyIDSize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("library: draw key identifier: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// NormalizeKeyID checks a key identifier (even-length hexadecimal of 1 to
// MaxKeyIDSize bytes) and returns it in upper case, the form used as
// Application Data.
func NormalizeKeyID(id string) (string, error) {
	if id == "" || len(id)%2 != 0 || len(id) > 2*MaxKeyIDSize {
		return "", fmt.Errorf("library: key identifier %q: %w: want 2 to %d hexadecimal digits, an even number", id, ErrKeyID, 2*MaxKeyIDSize)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", fmt.Errorf("library: key identifier %q: %w: not hexadecimal", id, ErrKeyID)
	}
	return strings.ToUpper(id), nil
}

// asi is the Application Specific Information naming a key identifier.
func asi(keyID string) kmip.ApplicationSpecificInformation {
	return kmip.ApplicationSpecificInformation{ApplicationNamespace: Namespace, ApplicationData: keyID}
}

// refusal converts a failed batch item to an *Error.
func refusal(op kmip.Operation, it kmip.ResponseBatchItem) *Error {
	return &Error{Operation: ttlv.EnumStr(op), Reason: ttlv.EnumStr(it.ResultReason), Message: it.ResultMessage}
}
