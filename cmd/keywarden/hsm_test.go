//go:build cgo

package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/conformance"
	"github.com/keywarden/keywarden/internal/pki"
)

// TestInitServePKCS11 drives the binary: init --seal pkcs11, serve with the
// PIN (also in FIPS mode, reported by status), and startups refused for a
// wrong PIN, given in a file or in the environment.
func TestInitServePKCS11(t *testing.T) {
	tok := softhsmtest.New(t, "kw-cli")
	dir := filepath.Join(t.TempDir(), "data")
	_, stderr, code := run(t, "init", "--data-dir", dir, "--seal", "pkcs11",
		"--pkcs11-module", tok.Module, "--token-label", tok.Label, "--pin-file", tok.PINFile)
	if code != 0 {
		t.Fatalf("init exit %d:\n%s", code, stderr)
	}
	desc, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(desc), `"kind": "pkcs11"`) || strings.Contains(string(desc), tok.PIN) {
		t.Fatalf("master.key = %s; want a pkcs11 descriptor without the PIN", desc)
	}

	t.Run("serve with --fips: status reports the mode and the provider", func(t *testing.T) {
		srv := startServe(t, dir, "--pin-file", tok.PINFile, "--fips")
		p := pki.PathsFor(dir)
		env := []string{
			"KEYWARDEN_ADDR=https://" + srv.addrs["admin"], "KEYWARDEN_CACERT=" + p.CACert,
			"KEYWARDEN_CLIENT_CERT=" + p.AdminCert, "KEYWARDEN_CLIENT_KEY=" + p.AdminKey,
		}
		out, stderr, code := runEnv(t, env, "status")
		if code != 0 {
			t.Fatalf("status exit %d:\n%s", code, stderr)
		}
		for _, want := range []string{"fips mode", "on (Go FIPS 140-3 module)", "master key", "pkcs11"} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		checkTLSOffers(t, srv.addrs["admin"], dir, true)
		if v := queryVendor(t, srv.addrs["kmip"], dir); v != "keywarden (FIPS 140-3 mode)" {
			t.Errorf("KMIP Query vendor identification = %q; want the FIPS mode named", v)
		}
		if code := srv.stop(t, syscall.SIGTERM, 15*time.Second); code != 0 {
			t.Errorf("serve exit %d after SIGTERM", code)
		}
	})
	t.Run("serve without --fips reports it off", func(t *testing.T) {
		srv := startServe(t, dir, "--pin-file", tok.PINFile)
		checkTLSOffers(t, srv.addrs["admin"], dir, false)
		if v := queryVendor(t, srv.addrs["kmip"], dir); v != "keywarden" {
			t.Errorf("KMIP Query vendor identification = %q; want keywarden", v)
		}
		if code := srv.stop(t, syscall.SIGTERM, 15*time.Second); code != 0 {
			t.Errorf("serve exit %d after SIGTERM", code)
		}
	})

	wrongPIN := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongPIN, []byte("wrong-pin-4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := []string{"serve", "--data-dir", dir, "--kmip-addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"wrong PIN file", nil, append(listen, "--pin-file", wrongPIN), []string{`token "kw-cli"`, tok.Module, "refused the PIN"}},
		{"wrong PIN in the environment", []string{"KEYWARDEN_PKCS11_PIN=wrong-pin-4242"}, listen, []string{`token "kw-cli"`, "refused the PIN"}},
		{"no PIN", nil, listen, []string{"--pin-file", "KEYWARDEN_PKCS11_PIN"}},
		{"passphrase file instead", nil, append(listen, "--passphrase-file", tok.PINFile), []string{"remove --passphrase-file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, tc.env, tc.args...)
			if code == 0 {
				t.Fatal("serve exited 0")
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "wrong-pin-4242") || strings.Contains(stderr, tok.PIN) {
				t.Errorf("stderr shows a PIN:\n%s", stderr)
			}
		})
	}
}

// checkTLSOffers handshakes with the listener at addr: AES-GCM over P-256
// always works; ChaCha20-Poly1305 (TLS 1.2) and X25519 alone (TLS 1.3),
// which FIPS 140-3 does not approve, work only when fips is false.
func checkTLSOffers(t *testing.T, addr, dataDir string, fips bool) {
	t.Helper()
	p := pki.PathsFor(dataDir)
	base, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		conf     func(c *tls.Config)
		approved bool
	}{
		{"TLS 1.2 ECDHE AES-GCM", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
		}, true},
		{"TLS 1.3 P-256", func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS13
			c.CurvePreferences = []tls.CurveID{tls.CurveP256}
		}, true},
		{"TLS 1.2 ChaCha20-Poly1305", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}
		}, false},
		{"TLS 1.3 X25519 only", func(c *tls.Config) { c.MinVersion = tls.VersionTLS13; c.CurvePreferences = []tls.CurveID{tls.X25519} }, false},
	}
	for _, tc := range tests {
		conf := base.Clone()
		tc.conf(conf)
		conn, err := tls.Dial("tcp", addr, conf)
		if err == nil {
			err = conn.Handshake()
			conn.Close()
		}
		if want := tc.approved || !fips; (err == nil) != want {
			t.Errorf("fips=%t: handshake with %s: err %v; want success %t", fips, tc.name, err, want)
		}
	}
}

// queryVendor asks the KMIP listener at addr for its Server Information
// and returns the vendor identification.
func queryVendor(t *testing.T, addr, dataDir string) string {
	t.Helper()
	p := pki.PathsFor(dataDir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := conformance.DialTLS(addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.QueryRequestPayload{
		QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionServerInformation},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := c.RoundTrip(ctx, ttlv.MarshalTTLV(&msg))
	if err != nil {
		t.Fatal(err)
	}
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		t.Fatal(err)
	}
	q, ok := resp.BatchItem[0].ResponsePayload.(*payloads.QueryResponsePayload)
	if !ok {
		t.Fatalf("Query answered %T (%s)", resp.BatchItem[0].ResponsePayload, resp.BatchItem[0].ResultMessage)
	}
	return q.VendorIdentification
}
