// Package config reads keywarden's configuration: the native file (a
// strict subset of TOML with "version = 1", see docs/configuration.md) and
// IBM EKM / ISKLM property files (ISKLMConfig.properties) as they are. It
// validates every value, applies the precedence flags → environment
// (KEYWARDEN_*) → file → defaults, prints the effective configuration with
// secrets redacted, and converts a property file to the native format.
//
// The package knows nothing of the server: cmd/keywarden turns a Config
// into a server.Config.
package config

import (
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
)

// Version is the only native file version this package reads.
const Version = 1

// Defaults of a Config; the listener addresses are those of the server.
const (
	DefaultDataDir        = "keywarden-data"
	DefaultKMIPAddr       = ":5696"
	DefaultDeviceAddr     = ":1443"
	DefaultAdminAddr      = ":9443"
	DefaultLogLevel       = "info"
	DefaultTLSMinVersion  = "1.2"
	DefaultClientAuth     = "require"
	DefaultUnknownPolicy  = "pending"
	DefaultShutdownGrace  = 10 * time.Second
	DefaultAuditName      = audit.DefaultName
	DefaultAuditMaxSize   = audit.DefaultMaxSize
	DefaultKeyGroupName   = "default"
	maxMessageSizeCeiling = 64 << 20
)

// Config is keywarden's configuration: what the native file, the
// environment and the flags of serve can set. The zero value is not
// useful; start from Defaults.
type Config struct {
	// Version is the file format version; Version.
	Version int
	// Node names this server in audit events; empty means the host name.
	Node string
	// DataDir is the data directory (master key, store, PKI).
	DataDir string
	// PassphraseFile names the file holding the master key passphrase.
	// Only the path is configuration: its content is never read here.
	PassphraseFile string
	// PINFile names the file holding the HSM user PIN (path only).
	PINFile string
	// FIPS runs the server on Go's FIPS 140-3 module.
	FIPS bool
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// RequireHSM warns at start when the master key is not in an HSM (the
	// seed's requireHardwareProtectionForSymmetricKeys).
	RequireHSM bool
	// Listeners are the three listener addresses.
	Listeners Listeners
	// TLS applies to every listener.
	TLS TLS
	// Devices holds the unknown-device policy.
	Devices Devices
	// Drive holds the server-wide drive defaults: those of the device
	// group "default".
	Drive Drive
	// Audit configures the audit file trail.
	Audit Audit
	// Usage configures the key-usage records.
	Usage Usage
	// Limits bound connections and messages.
	Limits Limits
	// KMIP holds KMIP server policies.
	KMIP KMIP
}

// Listeners are HOST:PORT addresses; port 0 picks a free port.
type Listeners struct {
	KMIP, Device, Admin string
}

// TLS configures every listener's TLS.
type TLS struct {
	// MinVersion is "1.2" or "1.3".
	MinVersion string
	// CipherSuites are TLS 1.2 suites by Go name; empty means keywarden's
	// defaults. TLS 1.3 suites are always on and not configurable.
	CipherSuites []string
	// ClientAuth is "require": every listener identifies its client by
	// certificate.
	ClientAuth string
}

// Devices holds the unknown-device policy.
type Devices struct {
	// Unknown is the policy of the group "default", which receives every
	// unknown device and certificate: reject, accept or pending.
	Unknown string
}

// Drive holds the defaults of the device group "default", which every
// device falls back to.
type Drive struct {
	// Alias1 and Alias2 are the default key labels of 3592 writes (the
	// seed's drive.default.alias1/2).
	Alias1, Alias2 string
	// KeyGroup names the LTO key group of the group "default".
	KeyGroup string
	// KeySet, when set, is the alias set of KeyGroup (the seed's
	// symmetricKeySet, e.g. des01-1f); the server creates the group with
	// these aliases at start when it is missing.
	KeySet string
}

// Audit configures the audit trail (see audit.Config).
type Audit struct {
	// Enabled keeps a file trail; false keeps none (not recommended).
	Enabled bool
	// Dir holds the audit files; empty means DATA_DIR/audit.
	Dir string
	// Name is the current file's name.
	Name string
	// MaxSize is the rotation size in bytes.
	MaxSize int64
	// MaxFiles keeps at most this many rotated files; 0 keeps all.
	MaxFiles int
	// MaxAge removes rotated files older than this; 0 keeps them.
	MaxAge time.Duration
	// Types and Outcomes filter the events recorded; empty records all.
	Types, Outcomes []string
	// QueueMax: 0 writes each record before the request goes on; more
	// queues up to this many records.
	QueueMax int
	// FailOpen serves requests when no record can be written.
	FailOpen bool
	// SyslogNetwork is "", "udp", "tcp" or "tls"; SyslogAddress its
	// HOST:PORT; SyslogCA the CA file of a "tls" syslog server.
	SyslogNetwork, SyslogAddress, SyslogCA string
}

// Usage configures the key-usage records, which the server always keeps
// in its store.
type Usage struct {
	// MetadataFile is the seed's KeyUsageEvent XML file
	// (Audit.metadata.file.name). The server does not read it: keywarden
	// migrate imports it.
	MetadataFile string
}

// Limits bound connections and messages of the KMIP listener, and the
// shutdown drain of every listener.
type Limits struct {
	// MaxConns bounds the KMIP connections served at once; 0 is the
	// server's default.
	MaxConns int
	// MaxMessageSize bounds a KMIP request in bytes; 0 is the default.
	MaxMessageSize int
	// ShutdownGrace is how long in-flight requests may run after SIGTERM.
	ShutdownGrace time.Duration
}

// KMIP holds KMIP server policies.
type KMIP struct {
	// FreshGroups are the Object Groups whose fresh members the server
	// makes on demand for a Locate (KMIP 1.1+ Object Group Member Fresh):
	// AES-256 keys for Encrypt and Decrypt. Empty: none.
	FreshGroups []string
}

// Defaults returns the configuration of a server started with no file,
// no environment and no flags.
func Defaults() Config {
	return Config{
		Version:   Version,
		DataDir:   DefaultDataDir,
		LogLevel:  DefaultLogLevel,
		Listeners: Listeners{KMIP: DefaultKMIPAddr, Device: DefaultDeviceAddr, Admin: DefaultAdminAddr},
		TLS:       TLS{MinVersion: DefaultTLSMinVersion, ClientAuth: DefaultClientAuth},
		Devices:   Devices{Unknown: DefaultUnknownPolicy},
		Audit:     Audit{Enabled: true, Name: DefaultAuditName, MaxSize: DefaultAuditMaxSize},
		Limits:    Limits{ShutdownGrace: DefaultShutdownGrace},
	}
}

// Error is a configuration mistake: the file (or "environment", or
// "flags"), the line (0 when there is none), the key and what is wrong,
// with what is allowed.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error formats FILE:LINE: KEY: MSG.
func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", where, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Key, e.Msg)
}
