package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// propHandler maps one property; it returns the error of a bad value.
type propHandler func(m *mapper, p *Property, value string) error

// isklmProperties are the ISKLM/EKM properties keywarden recognises: all
// those of the seed's sample configuration, and a few neighbours.
var isklmProperties = map[string]propHandler{
	"TransportListener.ssl.port":                 (*mapper).sslPort,
	"TransportListener.ssl.host":                 (*mapper).sslHost,
	"TransportListener.tcp.port":                 (*mapper).tcpPort,
	"TransportListener.tcp.host":                 (*mapper).tcpHost,
	"KMIPListener.ssl.port":                      (*mapper).kmipPort,
	"TransportListener.ssl.protocols":            (*mapper).protocols,
	"TransportListener.ssl.ciphersuites":         (*mapper).cipherSuites,
	"TransportListener.ssl.clientauthentication": (*mapper).clientAuth,
	"TransportListener.ssl.keystore.name":        keystoreName("the device and KMIP listeners present the server certificate in DATA_DIR/pki (keywarden init)"),
	"TransportListener.ssl.truststore.name":      keystoreName("client certificates are verified against keywarden's CA in DATA_DIR/pki; issue drive certificates with keywarden cert issue"),
	"Admin.ssl.keystore.name":                    keystoreName("the admin listener presents the server certificate in DATA_DIR/pki"),
	"Admin.ssl.truststore.name":                  keystoreName("administrators present client certificates from keywarden's CA (DATA_DIR/pki/admin.pem)"),
	"TransportListener.ssl.keystore.password":    secret,
	"TransportListener.ssl.truststore.password":  secret,
	"Admin.ssl.keystore.password":                secret,
	"Admin.ssl.truststore.password":              secret,
	"config.keystore.password":                   secret,
	"Audit.handler.file.directory":               mapString("audit.dir", "audit files go to %s"),
	"Audit.handler.file.name":                    mapString("audit.name", "the current audit file is %s"),
	"Audit.handler.file.size":                    (*mapper).auditSize,
	"Audit.event.types":                          (*mapper).auditTypes,
	"Audit.event.outcome":                        (*mapper).auditOutcomes,
	"Audit.eventQueue.max":                       (*mapper).auditQueue,
	"Audit.metadata.file.name":                   (*mapper).metadataFile,
	"Audit.metadata.file.cachecount":             (*mapper).cacheCount,
	"drive.default.alias1":                       mapString("drive.alias1", "default key label 1 of the device group \"default\": %s"),
	"drive.default.alias2":                       mapString("drive.alias2", "default key label 2 of the device group \"default\": %s"),
	"drive.acceptUnknownDrives":                  (*mapper).acceptUnknown,
	"ds8k.acceptUnknownDrives":                   (*mapper).acceptUnknown,
	"symmetricKeySet":                            (*mapper).keySet,
	"fips":                                       (*mapper).fips,
	"debug":                                      (*mapper).debug,
	"debug.output":                               ignored("keywarden logs to standard error; ignored"),
	"debug.output.file":                          ignored("keywarden logs to standard error (redirect it, or use journald); ignored"),
	"config.keystore.file":                       (*mapper).keystoreFile,
	"config.keystore.type":                       (*mapper).keystoreType,
	"config.keystore.provider":                   (*mapper).keystoreProvider,
	"config.drivetable.file.url":                 migrateSource("device table"),
	"config.keygroup.xml.file":                   migrateSource("key groups file"),
	"zOSCompatibility":                           ignored("keywarden is not a z/OS program: the setting has no effect; drives are served the same flows"),
	"requireHardwareProtectionForSymmetricKeys":  (*mapper).requireHSM,
}

// isklmPropertyNames are the names of isklmProperties, sorted.
var isklmPropertyNames = sync.OnceValue(func() []string {
	names := make([]string, 0, len(isklmProperties))
	for n := range isklmProperties {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
})

// mapper turns properties into a File.
type mapper struct {
	f    *File
	name string
	seen map[string]int // property → line

	host, port           string
	sslLine              int
	tcp                  string
	tcpLine              int
	accept               map[string]bool // property → value
	acceptLine           map[string]int
	propsOfAcceptUnknown []string
}

func (m *mapper) apply(rp rawProperty) error {
	p := Property{Line: rp.line, Name: rp.name, Value: rp.value}
	if prev, dup := m.seen[rp.name]; dup {
		m.warn(&p, fmt.Sprintf("set again (first on line %d): the last value counts, as in Java", prev))
	}
	m.seen[rp.name] = rp.line
	h, ok := isklmProperties[rp.name]
	if !ok {
		if looksSecret(rp.name) {
			p.Value, p.Secret = Redacted, true
		}
		msg := "not an ISKLM/EKM property keywarden knows; ignored"
		if s := suggest(rp.name, isklmPropertyNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		p.Effect = "ignored"
		m.warn(&p, msg)
		m.f.Properties = append(m.f.Properties, p)
		return nil
	}
	if err := h(m, &p, strings.TrimSpace(rp.value)); err != nil {
		return &Error{File: m.name, Line: rp.line, Key: rp.name, Msg: err.Error()}
	}
	m.f.Properties = append(m.f.Properties, p)
	return nil
}

// set assigns a native key from property p.
func (m *mapper) set(p *Property, full string, v any) error {
	k := lookup(full)
	if err := assign(&m.f.Config, k, v); err != nil {
		return err
	}
	m.f.Sources[full] = Source{Kind: SourceFile, File: m.name, Line: p.Line, Name: p.Name}
	p.carried = true
	m.markCarried(p.Name)
	return nil
}

// markCarried marks the properties already read under name as carried
// into the native configuration.
func (m *mapper) markCarried(name string) {
	for i := range m.f.Properties {
		if m.f.Properties[i].Name == name {
			m.f.Properties[i].carried = true
		}
	}
}

func (m *mapper) warn(p *Property, text string) {
	m.f.Warnings = append(m.f.Warnings, Note{File: m.name, Line: p.Line, Key: p.Name, Text: text})
}

func looksSecret(name string) bool {
	l := strings.ToLower(name)
	return strings.Contains(l, "password") || strings.Contains(l, "passphrase") || strings.Contains(l, "secret") ||
		strings.HasSuffix(l, "pin")
}

func mapString(full, effect string) propHandler {
	return func(m *mapper, p *Property, v string) error {
		p.Effect = fmt.Sprintf(effect, v) + " (" + full + ")"
		return m.set(p, full, v)
	}
}

func ignored(why string) propHandler {
	return func(m *mapper, p *Property, _ string) error {
		p.Effect = "ignored: " + why
		m.warn(p, why)
		return nil
	}
}

func secret(m *mapper, p *Property, _ string) error {
	p.Value, p.Secret = Redacted, true
	p.Effect = "not used: keywarden keeps every key sealed under its master key; the password is not kept"
	return nil
}

func keystoreName(instead string) propHandler {
	return func(m *mapper, p *Property, v string) error {
		p.Effect = "ignored: " + instead
		msg := "not used: " + instead
		if isSAFKeyring(v) {
			msg = "a RACF key ring (safkeyring://) cannot be read off z/OS; " + msg
		}
		m.warn(p, msg)
		return nil
	}
}

func isSAFKeyring(v string) bool { return strings.HasPrefix(strings.ToLower(v), "safkeyring:") }

// fileURL strips the FILE: prefix of the seed's file URLs.
func fileURL(v string) string {
	if len(v) >= 5 && strings.EqualFold(v[:5], "file:") {
		v = v[5:]
		if strings.HasPrefix(v, "//") {
			v = v[2:]
		}
	}
	return v
}

func migrateSource(what string) propHandler {
	return func(m *mapper, p *Property, v string) error {
		path := fileURL(v)
		p.Effect = fmt.Sprintf("%s %s: imported by keywarden migrate, not read by serve", what, path)
		m.warn(p, fmt.Sprintf("serve does not read the %s %s: import it once with keywarden migrate", what, path))
		return nil
	}
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%q: want a port number from 0 to 65535", v)
	}
	return n, nil
}

func (m *mapper) sslPort(p *Property, v string) error {
	if _, err := parsePort(v); err != nil {
		return err
	}
	m.port, m.sslLine = v, p.Line
	p.Effect = "SSL port: the device listener (TLS) serves drives here"
	return nil
}

func (m *mapper) sslHost(p *Property, v string) error {
	if strings.ContainsAny(v, " /") {
		return fmt.Errorf("%q: want a host name or an IP address", v)
	}
	m.host = v
	p.Effect = "host of the device listener"
	return nil
}

func (m *mapper) tcpPort(p *Property, v string) error {
	if _, err := parsePort(v); err != nil {
		return err
	}
	m.tcp, m.tcpLine = v, p.Line
	p.Effect = "not served: drives are served over TLS only, on the device listener"
	return nil
}

func (m *mapper) tcpHost(p *Property, _ string) error {
	p.Effect = "not served: keywarden has no plain TCP listener"
	m.warn(p, "not used: keywarden has no plain TCP listener (drives are served over TLS only)")
	return nil
}

func (m *mapper) kmipPort(p *Property, v string) error {
	if _, err := parsePort(v); err != nil {
		return err
	}
	p.Effect = "KMIP listener (TLS) port (listeners.kmip)"
	return m.set(p, "listeners.kmip", net.JoinHostPort("", v))
}

func (m *mapper) protocols(p *Property, v string) error {
	switch strings.ToUpper(v) {
	case "TLSV1.2", "TLSV1_2":
		p.Effect = "TLS 1.2 and later (tls.min_version = 1.2)"
		return m.set(p, "tls.min_version", "1.2")
	case "TLSV1.3", "TLSV1_3":
		p.Effect = "TLS 1.3 only (tls.min_version = 1.3)"
		return m.set(p, "tls.min_version", "1.3")
	case "SSL_TLS", "SSL_TLSV2", "TLS", "SSL", "TLSV1", "TLSV1.1", "SSL_TLSV1.2":
		p.Effect = "TLS 1.2 and later (tls.min_version = 1.2)"
		m.warn(p, fmt.Sprintf("%s also allows older protocols (SSL 3.0, TLS 1.0, 1.1): keywarden offers TLS 1.2 and 1.3 only", v))
		return m.set(p, "tls.min_version", "1.2")
	}
	return fmt.Errorf("%q: want SSL_TLS, SSL_TLSv2, TLS, TLSv1.2 or TLSv1.3", v)
}

func (m *mapper) cipherSuites(p *Property, v string) error {
	if strings.EqualFold(v, "JSSE_ALL") || v == "" {
		p.Effect = "keywarden's default suites: " + strings.Join(cipherSuiteNames(), ", ") + " (and TLS 1.3's)"
		p.carried = true
		return nil
	}
	var keep, drop []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if canon, err := pick(s, cipherSuiteNames()); err == nil {
			if !slices.Contains(keep, canon) {
				keep = append(keep, canon)
			}
		} else {
			drop = append(drop, s)
		}
	}
	if len(drop) > 0 {
		m.warn(p, fmt.Sprintf("not offered (keywarden offers %s): %s", strings.Join(cipherSuiteNames(), ", "), strings.Join(drop, ", ")))
	}
	if len(keep) == 0 {
		p.Effect = "none offered: keywarden's default suites instead"
		return nil
	}
	p.Effect = "tls.cipher_suites = " + strings.Join(keep, ", ")
	return m.set(p, "tls.cipher_suites", keep)
}

func (m *mapper) clientAuth(p *Property, v string) error {
	switch strings.ToLower(v) {
	case "2", "required", "need":
		p.Effect = "client certificates required (tls.client_auth = require)"
		p.carried = true
		return nil
	case "0", "1", "none", "want", "optional":
		p.Effect = "client certificates required (tls.client_auth = require)"
		m.warn(p, fmt.Sprintf("%s asks for no or optional client authentication: keywarden requires and verifies a client certificate on every listener (it identifies the drive); issue drive certificates with keywarden cert issue", v))
		return nil
	}
	return fmt.Errorf("%q: want 0 (none), 1 (optional) or 2 (required)", v)
}

// finish maps what depends on several properties: the device listener
// (host and SSL port), the TCP port, the unknown-device policy.
func (m *mapper) finish() error {
	if m.port != "" || m.host != "" {
		port := m.port
		if port == "" {
			_, port, _ = net.SplitHostPort(DefaultDeviceAddr)
		}
		addr := net.JoinHostPort(m.host, port)
		p := Property{Line: m.sslLine, Name: "TransportListener.ssl.port"}
		if m.port == "" {
			p.Name = "TransportListener.ssl.host"
			p.Line = m.seen[p.Name]
		}
		if err := m.set(&p, "listeners.device", addr); err != nil {
			return &Error{File: m.name, Line: p.Line, Key: p.Name, Msg: err.Error()}
		}
		m.markCarried("TransportListener.ssl.host")
		for i := range m.f.Properties {
			if m.f.Properties[i].Name == "TransportListener.ssl.port" {
				m.f.Properties[i].Effect = fmt.Sprintf("SSL port %s: served — the device listener (TLS) listens on %s (listeners.device)", port, addr)
			}
		}
	}
	if m.tcp != "" {
		device := m.f.Config.Listeners.Device
		for i := range m.f.Properties {
			if m.f.Properties[i].Name == "TransportListener.tcp.port" {
				m.f.Properties[i].Effect = fmt.Sprintf("TCP port %s: not served — drives are served over TLS only, on the device listener %s", m.tcp, device)
			}
		}
		m.f.Warnings = append(m.f.Warnings, Note{File: m.name, Line: m.tcpLine, Key: "TransportListener.tcp.port",
			Text: fmt.Sprintf("TCP port %s is not served: drives are served over TLS only, by the device listener (the file names %s)", m.tcp, device)})
	}
	if len(m.propsOfAcceptUnknown) == 0 {
		return nil
	}
	first := m.propsOfAcceptUnknown[0]
	policy := "reject"
	if m.accept[first] {
		policy = "accept"
	}
	for _, n := range m.propsOfAcceptUnknown[1:] {
		if m.accept[n] != m.accept[first] {
			policy = "pending"
			m.f.Warnings = append(m.f.Warnings, Note{File: m.name, Line: m.acceptLine[n], Key: n,
				Text: fmt.Sprintf("differs from %s: keywarden has one unknown-device policy for the device group \"default\", so unknown devices are held pending an administrator's approval (devices.unknown = pending)", first)})
		}
	}
	p := Property{Line: m.acceptLine[first], Name: first}
	for _, n := range m.propsOfAcceptUnknown {
		m.markCarried(n)
	}
	return m.set(&p, "devices.unknown", policy)
}
