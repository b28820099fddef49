package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/pki"
)

// GroupDefaults are settings of the device group "default" that a
// configuration file carries (the seed's drive.default.alias1/2,
// acceptUnknownDrives and symmetricKeySet). Empty fields leave the group
// as it is, so changes made through the admin API stay until the file
// names the setting.
type GroupDefaults struct {
	// Unknown is the policy for unknown devices and certificates.
	Unknown devices.Policy
	// Alias1 and Alias2 are the default key labels of 3592 writes.
	Alias1, Alias2 string
	// KeyGroup is the LTO key group of the group "default".
	KeyGroup string
	// KeySet, with KeyGroup, creates the key group with these aliases
	// (symmetricKeySet syntax) when it does not exist yet.
	KeySet string
}

// ReloadResult says what Reload did.
type ReloadResult struct {
	// Applied lists the settings now in effect that changed.
	Applied []string
	// RestartNeeded lists the settings that differ from the running
	// server's and take effect only after a restart.
	RestartNeeded []string
}

// Audit operations of configuration changes.
const (
	auditOpReload      = "reload"
	auditOpApplyConfig = "apply-config"
)

// setupTLS applies the configured TLS version and suites and makes every
// listener present the certificate in s.cert, which Reload replaces.
func (s *Server) setupTLS() error {
	switch v := s.cfg.TLSMinVersion; v {
	case 0:
	case tls.VersionTLS12, tls.VersionTLS13:
		s.tls.MinVersion = v
	default:
		return fmt.Errorf("server: TLS minimum version %#04x: want TLS 1.2 or 1.3", v)
	}
	if len(s.cfg.TLSCipherSuites) > 0 {
		s.tls.CipherSuites = slices.Clone(s.cfg.TLSCipherSuites)
	}
	if len(s.tls.Certificates) != 1 {
		return errors.New("server: want exactly one server certificate")
	}
	cert := s.tls.Certificates[0]
	s.cert.Store(&cert)
	s.tls.Certificates = nil
	s.tls.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }
	if s.cfg.RequireHSM && s.mk.Kind() != barrier.KindPKCS11 {
		s.log.Warn("hardware protection of keys is required by the configuration, but the master key is not in an HSM: keys are protected in software (keywarden init --seal pkcs11 puts the master key in an HSM)",
			"master_key", s.mk.Kind())
	}
	return nil
}

// applyGroupDefaults creates the configured key group if it is missing
// and writes d onto the device group "default" where they differ. It is
// idempotent: nothing is written when the store already agrees.
func (s *Server) applyGroupDefaults(ctx context.Context, d GroupDefaults) ([]string, error) {
	if d == (GroupDefaults{}) {
		return nil, nil
	}
	var applied []string
	if d.KeySet != "" {
		name := d.KeyGroup
		if name == "" {
			name = devices.DefaultGroup
			d.KeyGroup = name
		}
		want, err := keygroups.ParseAliasSet(d.KeySet)
		if err != nil {
			return nil, fmt.Errorf("server: key set %q: %w", d.KeySet, err)
		}
		kg, err := s.kgroups.Get(ctx, name)
		switch {
		case errors.Is(err, keygroups.ErrNotFound):
			kg, err = s.kgroups.Create(ctx, name, d.KeySet)
			switch {
			case errors.Is(err, keygroups.ErrExists):
				// Another node of the cluster, starting with the same
				// configuration, created it first: the name's claim lets
				// exactly one creation win, and this node uses that group.
				if _, err := s.kgroups.Get(ctx, name); err != nil {
					return nil, fmt.Errorf("server: key group %q: %w", name, err)
				}
				applied = append(applied, fmt.Sprintf("key group %q created by another node", name))
			case err != nil:
				return nil, fmt.Errorf("server: create key group %q from the configuration: %w", name, err)
			default:
				applied = append(applied, fmt.Sprintf("key group %q created with %d keys (%s)", name, len(kg.Keys), d.KeySet))
			}
		case err != nil:
			return nil, fmt.Errorf("server: key group %q: %w", name, err)
		default:
			if !sameFold(kg.Aliases(), want) {
				s.log.Warn("key group exists with other aliases than the configuration's key set: left unchanged",
					"key_group", name, "key_set", d.KeySet, "keys", len(kg.Keys))
			}
		}
	}
	g, err := s.devices.Group(devices.DefaultGroup)
	if err != nil {
		return nil, fmt.Errorf("server: group %q: %w", devices.DefaultGroup, err)
	}
	var changes []string
	change := func(what, cur, next string) {
		if next != "" && next != cur {
			changes = append(changes, fmt.Sprintf("%s %q → %q", what, cur, next))
		}
	}
	change("unknown-device policy", string(g.Unknown), string(d.Unknown))
	change("alias1", g.Alias1, d.Alias1)
	change("alias2", g.Alias2, d.Alias2)
	change("key group", g.KeyGroup, d.KeyGroup)
	if len(changes) > 0 {
		_, err := s.devices.ModifyGroup(ctx, devices.DefaultGroup, func(g *devices.Group) error {
			if d.Unknown != "" {
				g.Unknown = d.Unknown
			}
			g.Alias1 = orDefault(d.Alias1, g.Alias1)
			g.Alias2 = orDefault(d.Alias2, g.Alias2)
			g.KeyGroup = orDefault(d.KeyGroup, g.KeyGroup)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("server: apply the configuration to group %q: %w", devices.DefaultGroup, err)
		}
		for _, c := range changes {
			applied = append(applied, "group \"default\": "+c)
		}
	}
	if len(applied) > 0 {
		s.log.Info("configuration applied to the store", "changes", strings.Join(applied, "; "))
		s.auditConfig(auditOpApplyConfig, []string{d.Alias1, d.Alias2, d.KeyGroup})
	}
	return applied, nil
}

// auditConfig records a configuration change made by the server itself.
func (s *Server) auditConfig(op string, labels []string) {
	var ls []string
	for _, l := range labels {
		if l != "" {
			ls = append(ls, l)
		}
	}
	ev := audit.Event{
		Time: time.Now().UTC(), Node: s.cfg.Node, Type: audit.TypeConfig, Protocol: audit.ProtoServer,
		Operation: op, Outcome: audit.Success, Labels: ls,
	}
	if s.cfg.Audit == nil {
		return
	}
	if err := s.cfg.Audit.Record(context.Background(), ev); err != nil {
		s.log.Error("audit record not written", "op", op, "err", err)
		s.metrics.AuditFailed(string(audit.ProtoServer))
	}
}

func sameFold(a, b []string) bool {
	return slices.EqualFunc(a, b, strings.EqualFold)
}

// Reload applies what can change while the server runs: the server
// certificate is read again from DATA_DIR/pki (new connections present
// it), and the group defaults of next (unknown-device policy, default
// labels, key group) are written to the store. Every other setting of
// next that differs from the running configuration is listed in
// RestartNeeded and left as it is. On error nothing after the failing
// step is applied; the running certificate stays.
func (s *Server) Reload(ctx context.Context, next Config) (ReloadResult, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.storeClosed.Load() {
		return ReloadResult{}, errors.New("server: reload: the server has stopped")
	}
	var res ReloadResult
	tlsConf, err := pki.LoadServerTLS(s.cfg.DataDir, s.mk)
	if err != nil {
		s.auditServer(auditOpReload, audit.Failure, "server certificate not reloaded")
		return res, fmt.Errorf("server: reload certificate: %w", err)
	}
	if cur := s.cert.Load(); cur == nil || len(tlsConf.Certificates) != 1 ||
		!slices.EqualFunc(cur.Certificate, tlsConf.Certificates[0].Certificate, func(a, b []byte) bool { return string(a) == string(b) }) {
		c := tlsConf.Certificates[0]
		s.cert.Store(&c)
		res.Applied = append(res.Applied, "server certificate reloaded from "+pki.PathsFor(s.cfg.DataDir).ServerCert)
	}
	applied, err := s.applyGroupDefaults(ctx, next.Defaults)
	if err != nil {
		s.auditServer(auditOpReload, audit.Failure, "configuration not applied")
		return res, err
	}
	res.Applied = append(res.Applied, applied...)
	s.cfg.Defaults = next.Defaults
	res.RestartNeeded = s.restartNeeded(next)
	s.auditServer(auditOpReload, audit.Success, "")
	s.log.Info("configuration reloaded", "applied", strings.Join(res.Applied, "; "),
		"restart_needed", strings.Join(res.RestartNeeded, ", "))
	return res, nil
}

// restartNeeded lists the settings of next that differ from the running
// ones and cannot change without a restart.
func (s *Server) restartNeeded(next Config) []string {
	cur := s.cfg
	var out []string
	diff := func(name string, differs bool) {
		if differs {
			out = append(out, name)
		}
	}
	next.KMIPAddr = orDefault(next.KMIPAddr, DefaultKMIPAddr)
	next.DeviceAddr = orDefault(next.DeviceAddr, DefaultDeviceAddr)
	next.AdminAddr = orDefault(next.AdminAddr, DefaultAdminAddr)
	if next.ShutdownGrace <= 0 {
		next.ShutdownGrace = DefaultShutdownGrace
	}
	diff("data directory", next.DataDir != cur.DataDir)
	diff("passphrase file", next.PassphraseFile != cur.PassphraseFile)
	diff("PIN file", next.PINFile != cur.PINFile)
	diff("FIPS mode", next.FIPS != cur.FIPS)
	diff("KMIP listener address", next.KMIPAddr != cur.KMIPAddr)
	diff("device listener address", next.DeviceAddr != cur.DeviceAddr)
	diff("admin listener address", next.AdminAddr != cur.AdminAddr)
	diff("shutdown grace", next.ShutdownGrace != cur.ShutdownGrace)
	diff("node name", nodeName(next.Node) != cur.Node)
	diff("TLS minimum version", next.TLSMinVersion != cur.TLSMinVersion)
	diff("TLS cipher suites", !slices.Equal(next.TLSCipherSuites, cur.TLSCipherSuites))
	diff("KMIP connection limit", next.MaxConns != cur.MaxConns)
	diff("KMIP message size limit", next.MaxMessageSize != cur.MaxMessageSize)
	diff("audit trail on/off", next.NoAuditTrail != cur.NoAuditTrail)
	a, b := next.AuditTrail, cur.AuditTrail
	diff("audit directory", a.Dir != b.Dir)
	diff("audit file name", a.Name != b.Name)
	diff("audit rotation size", a.MaxSize != b.MaxSize)
	diff("audit retention", a.MaxFiles != b.MaxFiles || a.MaxAge != b.MaxAge)
	// The trail fixes its filters when it opens (audit.Trail has no
	// setter), so they are restart settings too.
	diff("audit event types filter", !slices.Equal(a.Types, b.Types))
	diff("audit outcomes filter", !slices.Equal(a.Outcomes, b.Outcomes))
	diff("audit queue", a.QueueMax != b.QueueMax)
	diff("audit fail-open", a.FailOpen != b.FailOpen)
	diff("audit syslog", syslogKey(a.Syslog) != syslogKey(b.Syslog))
	return out
}

func syslogKey(c *audit.SyslogConfig) string {
	if c == nil {
		return ""
	}
	return c.Network + " " + c.Address
}
