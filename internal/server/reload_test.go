package server_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

// startConfigured starts a server on cfg (listeners on 127.0.0.1:0) and
// shuts it down at the end of the test.
func startConfigured(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.KMIPAddr, cfg.DeviceAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownGrace = 2 * time.Second
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

func stop(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func adminClientTLS(t *testing.T, dir string) *tls.Config {
	t.Helper()
	p := pki.PathsFor(dir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// handshake completes a TLS handshake with addr.
func handshake(addr string, conf *tls.Config) error {
	d := &tls.Dialer{Config: conf}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// TestGroupDefaultsAppliedOnce: the configured defaults reach the group
// "default" and the key group at start, and a second start writes
// nothing.
func TestGroupDefaultsAppliedOnce(t *testing.T) {
	dir := t.TempDir()
	defaults := server.GroupDefaults{
		Unknown: devices.PolicyAccept, Alias1: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", Alias2: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21",
		KeyGroup: "tapes", KeySet: "k01-03",
	}
	srv := startConfigured(t, server.Config{DataDir: dir, Defaults: defaults, NoAuditTrail: true})
	g, err := srv.Devices().Group(devices.DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	if g.Unknown != devices.PolicyAccept || g.Alias1 != defaults.Alias1 || g.Alias2 != defaults.Alias2 || g.KeyGroup != "tapes" {
		t.Fatalf("group default = %+v", g)
	}
	kg, err := srv.KeyGroups().Get(context.Background(), "tapes")
	if err != nil {
		t.Fatal(err)
	}
	if got := kg.Aliases(); !slices.Equal(got, []string{"k01", "k02", "k03"}) {
		t.Fatalf("key group aliases %v", got)
	}
	stop(t, srv)

	srv = startConfigured(t, server.Config{DataDir: dir, Defaults: defaults, NoAuditTrail: true})
	g2, err := srv.Devices().Group(devices.DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	if !g2.Created.Equal(g.Created) || g2.Alias1 != g.Alias1 || g2.Unknown != g.Unknown {
		t.Errorf("second start changed the group: %+v → %+v", g, g2)
	}
	kg2, err := srv.KeyGroups().Get(context.Background(), "tapes")
	if err != nil {
		t.Fatal(err)
	}
	if len(kg2.Keys) != 3 || kg2.Keys[0].ObjectID != kg.Keys[0].ObjectID {
		t.Errorf("second start changed the key group: %+v → %+v", kg, kg2)
	}
	res, err := srv.Reload(context.Background(), server.Config{DataDir: dir, Defaults: defaults, NoAuditTrail: true,
		KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.RestartNeeded) != 0 {
		t.Errorf("reload of the same configuration: %+v", res)
	}
}

// TestReload: group defaults apply at once; other changes are named as
// needing a restart and left alone; a broken certificate file keeps the
// running certificate.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	base := server.Config{DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownGrace: 2 * time.Second}
	srv := startConfigured(t, base)

	next := base
	next.Defaults = server.GroupDefaults{Unknown: devices.PolicyReject, Alias1: "NewLabel1"}
	next.KMIPAddr = "127.0.0.1:15696"
	next.AuditTrail.Types = nil
	next.AuditTrail.Outcomes = nil
	next.AuditTrail.MaxSize = 1 << 20
	next.TLSMinVersion = tls.VersionTLS13
	res, err := srv.Reload(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	applied := strings.Join(res.Applied, "\n")
	for _, want := range []string{`unknown-device policy "pending" → "reject"`, `alias1 "" → "NewLabel1"`} {
		if !strings.Contains(applied, want) {
			t.Errorf("applied %q lacks %q", applied, want)
		}
	}
	for _, want := range []string{"KMIP listener address", "audit rotation size", "TLS minimum version"} {
		if !slices.Contains(res.RestartNeeded, want) {
			t.Errorf("restart needed %v lacks %q", res.RestartNeeded, want)
		}
	}
	if g, _ := srv.Devices().Group(devices.DefaultGroup); g.Unknown != devices.PolicyReject || g.Alias1 != "NewLabel1" {
		t.Errorf("group default after reload = %+v", g)
	}
	kmipAddr, _, _ := srv.Addrs()
	if strings.HasSuffix(kmipAddr, ":15696") {
		t.Errorf("reload moved the KMIP listener")
	}

	// The server certificate is read again; a broken file fails the
	// reload and the running certificate stays.
	conf := adminClientTLS(t, dir)
	conf.MaxVersion = tls.VersionTLS12 // the reload did not raise the minimum version
	if err := handshake(kmipAddr, conf); err != nil {
		t.Fatalf("handshake before: %v", err)
	}
	p := pki.PathsFor(dir)
	if err := os.WriteFile(p.ServerCert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Reload(context.Background(), next); err == nil {
		t.Error("reload with a broken server certificate succeeded")
	}
	if err := handshake(kmipAddr, conf); err != nil {
		t.Errorf("handshake after a failed reload: %v", err)
	}
}

func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	srv := startConfigured(t, server.Config{DataDir: dir, TLSMinVersion: tls.VersionTLS13, NoAuditTrail: true})
	kmipAddr, deviceAddr, adminAddr := srv.Addrs()
	tests := []struct {
		name    string
		max     uint16
		wantErr bool
	}{
		{"TLS 1.2 refused", tls.VersionTLS12, true},
		{"TLS 1.3 served", tls.VersionTLS13, false},
	}
	for _, tc := range tests {
		for _, addr := range []string{kmipAddr, deviceAddr, adminAddr} {
			t.Run(tc.name+" "+addr, func(t *testing.T) {
				conf := adminClientTLS(t, dir)
				conf.MaxVersion = tc.max
				err := handshake(addr, conf)
				if (err != nil) != tc.wantErr {
					t.Errorf("handshake: %v, want error %t", err, tc.wantErr)
				}
			})
		}
	}
	if _, err := server.New(server.Config{DataDir: t.TempDir(), TLSMinVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}
