package config

import "strings"

// kind is how a key's value is written.
type kind int

const (
	kindString   kind = iota // "text"
	kindEnum                 // "one of allowed"
	kindInt                  // 123
	kindBool                 // true | false
	kindList                 // ["a", "b"]
	kindDuration             // "30s"
	kindSize                 // 10240000 or "10 MiB"
	kindAddr                 // "HOST:PORT"
)

// key is one setting: its native name, environment variable, type and
// where it lives in a Config. The table below is the whole schema: the
// native parser, the environment, the flags, check and convert read it.
type key struct {
	section string // "" for top-level keys
	name    string
	env     string // environment variable, or ""
	kind    kind
	allowed []string // kindEnum values; for kindList, each element's (nil: any)
	reload  bool     // SIGHUP applies it without a restart
	help    string
	ptr     func(c *Config) any
}

// full is the key's dotted name: "listeners.kmip", "version".
func (k *key) full() string {
	if k.section == "" {
		return k.name
	}
	return k.section + "." + k.name
}

// sections are the native file's tables, in output order.
var sections = []string{"", "listeners", "tls", "devices", "drive", "audit", "usage", "limits", "kmip"}

// schema lists every key in output order.
var schema = []*key{
	{name: "version", kind: kindInt, help: "file format version: 1", ptr: func(c *Config) any { return &c.Version }},
	{name: "node", env: "KEYWARDEN_NODE", kind: kindString, help: "node name in audit events; empty: the host name", ptr: func(c *Config) any { return &c.Node }},
	{name: "data_dir", env: "KEYWARDEN_DATA_DIR", kind: kindString, help: "data directory: master key, store, PKI", ptr: func(c *Config) any { return &c.DataDir }},
	{name: "passphrase_file", env: "KEYWARDEN_PASSPHRASE_FILE", kind: kindString, help: "file holding the master key passphrase (its content is never printed)", ptr: func(c *Config) any { return &c.PassphraseFile }},
	{name: "pin_file", env: "KEYWARDEN_PIN_FILE", kind: kindString, help: "file holding the HSM user PIN (its content is never printed)", ptr: func(c *Config) any { return &c.PINFile }},
	{name: "fips", env: "KEYWARDEN_FIPS", kind: kindBool, help: "run on Go's FIPS 140-3 module", ptr: func(c *Config) any { return &c.FIPS }},
	{name: "log_level", env: "KEYWARDEN_LOG_LEVEL", kind: kindEnum, allowed: []string{"debug", "info", "warn", "error"}, help: "log level", ptr: func(c *Config) any { return &c.LogLevel }},
	{name: "require_hsm", env: "KEYWARDEN_REQUIRE_HSM", kind: kindBool, help: "warn at start when the master key is not in an HSM", ptr: func(c *Config) any { return &c.RequireHSM }},

	{section: "listeners", name: "kmip", env: "KEYWARDEN_KMIP_ADDR", kind: kindAddr, help: "KMIP over TLS", ptr: func(c *Config) any { return &c.Listeners.KMIP }},
	{section: "listeners", name: "device", env: "KEYWARDEN_DEVICE_ADDR", kind: kindAddr, help: "device protocol over TLS (the seed's SSL port)", ptr: func(c *Config) any { return &c.Listeners.Device }},
	{section: "listeners", name: "admin", env: "KEYWARDEN_ADMIN_ADDR", kind: kindAddr, help: "admin HTTPS API", ptr: func(c *Config) any { return &c.Listeners.Admin }},

	{section: "tls", name: "min_version", env: "KEYWARDEN_TLS_MIN_VERSION", kind: kindEnum, allowed: []string{"1.2", "1.3"}, help: "lowest TLS version offered", ptr: func(c *Config) any { return &c.TLS.MinVersion }},
	{section: "tls", name: "cipher_suites", env: "KEYWARDEN_TLS_CIPHER_SUITES", kind: kindList, allowed: cipherSuiteNames(), help: "TLS 1.2 suites by Go name; empty: the defaults", ptr: func(c *Config) any { return &c.TLS.CipherSuites }},
	{section: "tls", name: "client_auth", env: "KEYWARDEN_TLS_CLIENT_AUTH", kind: kindEnum, allowed: []string{"require"}, help: "client certificates: always required and verified", ptr: func(c *Config) any { return &c.TLS.ClientAuth }},

	{section: "devices", name: "unknown", env: "KEYWARDEN_UNKNOWN_DEVICES", kind: kindEnum, allowed: []string{"reject", "accept", "pending"}, reload: true, help: "what happens to an unknown device or certificate", ptr: func(c *Config) any { return &c.Devices.Unknown }},

	{section: "drive", name: "alias1", env: "KEYWARDEN_DRIVE_ALIAS1", kind: kindString, reload: true, help: "default key label 1 of 3592 writes", ptr: func(c *Config) any { return &c.Drive.Alias1 }},
	{section: "drive", name: "alias2", env: "KEYWARDEN_DRIVE_ALIAS2", kind: kindString, reload: true, help: "default key label 2 of 3592 writes", ptr: func(c *Config) any { return &c.Drive.Alias2 }},
	{section: "drive", name: "key_group", env: "KEYWARDEN_DRIVE_KEY_GROUP", kind: kindString, reload: true, help: "LTO key group of the group \"default\"", ptr: func(c *Config) any { return &c.Drive.KeyGroup }},
	{section: "drive", name: "key_set", env: "KEYWARDEN_DRIVE_KEY_SET", kind: kindString, reload: true, help: "aliases of key_group, created at start if missing (e.g. des01-1f)", ptr: func(c *Config) any { return &c.Drive.KeySet }},

	{section: "audit", name: "enabled", env: "KEYWARDEN_AUDIT", kind: kindBool, help: "keep an audit file trail", ptr: func(c *Config) any { return &c.Audit.Enabled }},
	{section: "audit", name: "dir", env: "KEYWARDEN_AUDIT_DIR", kind: kindString, help: "audit directory; empty: DATA_DIR/audit", ptr: func(c *Config) any { return &c.Audit.Dir }},
	{section: "audit", name: "name", env: "KEYWARDEN_AUDIT_NAME", kind: kindString, help: "current audit file name", ptr: func(c *Config) any { return &c.Audit.Name }},
	{section: "audit", name: "max_size", env: "KEYWARDEN_AUDIT_MAX_SIZE", kind: kindSize, help: "rotation size: bytes, or \"10 MiB\"", ptr: func(c *Config) any { return &c.Audit.MaxSize }},
	{section: "audit", name: "max_files", env: "KEYWARDEN_AUDIT_MAX_FILES", kind: kindInt, help: "rotated files kept; 0: all", ptr: func(c *Config) any { return &c.Audit.MaxFiles }},
	{section: "audit", name: "max_age", env: "KEYWARDEN_AUDIT_MAX_AGE", kind: kindDuration, help: "rotated files older than this are removed; 0: never", ptr: func(c *Config) any { return &c.Audit.MaxAge }},
	{section: "audit", name: "types", env: "KEYWARDEN_AUDIT_TYPES", kind: kindList, allowed: []string{"key", "lifecycle", "auth", "device", "config", "server", "query"}, help: "event types recorded; empty: all", ptr: func(c *Config) any { return &c.Audit.Types }},
	{section: "audit", name: "outcomes", env: "KEYWARDEN_AUDIT_OUTCOMES", kind: kindList, allowed: []string{"success", "failure", "denied"}, help: "outcomes recorded; empty: all", ptr: func(c *Config) any { return &c.Audit.Outcomes }},
	{section: "audit", name: "queue_max", env: "KEYWARDEN_AUDIT_QUEUE_MAX", kind: kindInt, help: "0: write each record before answering; >0: queue", ptr: func(c *Config) any { return &c.Audit.QueueMax }},
	{section: "audit", name: "fail_open", env: "KEYWARDEN_AUDIT_FAIL_OPEN", kind: kindBool, help: "serve requests when no record can be written", ptr: func(c *Config) any { return &c.Audit.FailOpen }},
	{section: "audit", name: "syslog_network", env: "KEYWARDEN_AUDIT_SYSLOG_NETWORK", kind: kindEnum, allowed: []string{"", "udp", "tcp", "tls"}, help: "also send records to syslog", ptr: func(c *Config) any { return &c.Audit.SyslogNetwork }},
	{section: "audit", name: "syslog_address", env: "KEYWARDEN_AUDIT_SYSLOG_ADDRESS", kind: kindAddr, help: "syslog HOST:PORT", ptr: func(c *Config) any { return &c.Audit.SyslogAddress }},
	{section: "audit", name: "syslog_ca", env: "KEYWARDEN_AUDIT_SYSLOG_CA", kind: kindString, help: "CA file of a tls syslog server", ptr: func(c *Config) any { return &c.Audit.SyslogCA }},

	{section: "usage", name: "metadata_file", env: "", kind: kindString, help: "seed KeyUsageEvent XML: imported by keywarden migrate, not read by serve", ptr: func(c *Config) any { return &c.Usage.MetadataFile }},

	{section: "limits", name: "max_conns", env: "KEYWARDEN_MAX_CONNS", kind: kindInt, help: "KMIP connections served at once; 0: default", ptr: func(c *Config) any { return &c.Limits.MaxConns }},
	{section: "limits", name: "max_message_size", env: "KEYWARDEN_MAX_MESSAGE_SIZE", kind: kindSize, help: "largest KMIP request; 0: default", ptr: func(c *Config) any { return &c.Limits.MaxMessageSize }},
	{section: "limits", name: "shutdown_grace", env: "KEYWARDEN_SHUTDOWN_GRACE", kind: kindDuration, help: "drain time after SIGTERM", ptr: func(c *Config) any { return &c.Limits.ShutdownGrace }},

	{section: "kmip", name: "fresh_groups", env: "KEYWARDEN_KMIP_FRESH_GROUPS", kind: kindList, help: "Object Groups whose fresh members a Locate makes on demand (AES-256); empty: none", ptr: func(c *Config) any { return &c.KMIP.FreshGroups }},
}

// lookup returns the key named full ("listeners.kmip").
func lookup(full string) *key {
	for _, k := range schema {
		if k.full() == full {
			return k
		}
	}
	return nil
}

// keysIn returns the names of the keys of a section.
func keysIn(section string) []string {
	var out []string
	for _, k := range schema {
		if k.section == section {
			out = append(out, k.name)
		}
	}
	return out
}

// allowedText describes a key's allowed values for an error message.
func (k *key) allowedText() string {
	switch k.kind {
	case kindEnum:
		q := make([]string, len(k.allowed))
		for i, a := range k.allowed {
			q[i] = `"` + a + `"`
		}
		return "one of " + strings.Join(q, ", ")
	case kindInt:
		return "a whole number ≥ 0, such as 100"
	case kindBool:
		return "true or false"
	case kindList:
		if len(k.allowed) > 0 {
			return `a list such as ["` + k.allowed[0] + `"] of ` + strings.Join(k.allowed, ", ")
		}
		return `a list of quoted strings such as ["a", "b"]`
	case kindDuration:
		return `a quoted duration such as "30s", "10m" or "720h"`
	case kindSize:
		return `a size in bytes such as 10240000, or quoted with a unit such as "10 MiB"`
	case kindAddr:
		return `a quoted "HOST:PORT" such as ":1443" or "127.0.0.1:0"`
	}
	return "a quoted string"
}
