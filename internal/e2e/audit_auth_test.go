package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// authSettle is how long a test keeps watching for a second event after
// the first one of a refused handshake arrived.
const authSettle = 300 * time.Millisecond

// TestAuditAuthHandshakes: on each of the three listeners (KMIP, device,
// admin), a TLS handshake refused for want of an acceptable client
// certificate — one from another CA, a revoked one, none at all —
// produces exactly one audit event: TypeAuth, Denied, the listener's
// protocol, the remote address and a fixed reason.
func TestAuditAuthHandshakes(t *testing.T) {
	env, rec := startAudited(t)

	foreign := testenv.Start(t).AdminTLS.Clone() // a certificate from another server's CA
	foreign.RootCAs = env.AdminTLS.RootCAs       // ... trusting ours, so only the server refuses
	revoked := env.IssueClient(t, "audit-auth-revoked", pki.RoleClient)
	if err := env.Server.Devices().Revoke(context.Background(), devices.RevokedCert{Fingerprint: certFingerprint(t, revoked), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	noCert := &tls.Config{RootCAs: env.AdminTLS.RootCAs, MinVersion: tls.VersionTLS12}

	listeners := []struct {
		name  string
		addr  string
		proto audit.Protocol
		op    string
	}{
		{"kmip", env.KMIPAddr, audit.ProtoKMIP, "Handshake"},
		{"device", env.DeviceAddr, audit.ProtoDevice, "handshake"},
		{"admin", env.AdminAddr, audit.ProtoAdmin, "handshake"},
	}
	clients := []struct {
		name        string
		conf        *tls.Config
		fingerprint string // expected client fingerprint, when the server saw the certificate
	}{
		{"certificate from another CA", foreign, ""},
		{"revoked certificate", revoked, certFingerprint(t, revoked)},
		{"no certificate", noCert, ""},
	}
	for _, l := range listeners {
		for _, c := range clients {
			t.Run(l.name+"/"+c.name, func(t *testing.T) {
				rec.Reset()
				if err := handshake(l.addr, c.conf); err == nil {
					t.Fatalf("the %s listener accepted the handshake", l.name)
				}
				ev := waitEvent(t, rec, l.proto, l.op)
				time.Sleep(authSettle)
				if n := len(authEvents(rec)); n != 1 {
					t.Fatalf("%d auth events, want exactly 1: %s", n, dumpEvents(rec.Events()))
				}
				if n := len(eventsOf(rec, l.proto)); n != 1 {
					t.Fatalf("%d %s events, want exactly 1: %s", n, l.proto, dumpEvents(rec.Events()))
				}
				if ev.Type != audit.TypeAuth || ev.Outcome != audit.Denied || ev.Reason != "TLS handshake refused" {
					t.Fatalf("event %+v", ev)
				}
				if c.fingerprint != "" && ev.Client.Fingerprint != c.fingerprint {
					t.Fatalf("client fingerprint %q, want %q", ev.Client.Fingerprint, c.fingerprint)
				}
			})
		}
	}

	t.Run("admin/accepted certificate: no auth event, HTTP/2 as before", func(t *testing.T) {
		rec.Reset()
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: env.AdminTLS.Clone(), ForceAttemptHTTP2: true}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get("https://" + env.AdminAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.TLS == nil {
			t.Fatalf("GET /healthz: %s over %s", resp.Status, resp.Proto)
		}
		time.Sleep(authSettle)
		if evs := authEvents(rec); len(evs) != 0 {
			t.Fatalf("auth events for an accepted client: %s", dumpEvents(evs))
		}
	})
}

// authEvents returns the recorded authentication events.
func authEvents(rec *gatedRecorder) []audit.Event {
	var out []audit.Event
	for _, e := range rec.Events() {
		if e.Type == audit.TypeAuth {
			out = append(out, e)
		}
	}
	return out
}
