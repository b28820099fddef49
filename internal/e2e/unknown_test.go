package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// setDefaultPolicy sets what happens to unknown client certificates.
func setDefaultPolicy(t *testing.T, reg *devices.Registry, p devices.Policy) {
	t.Helper()
	_, err := reg.ModifyGroup(context.Background(), devices.DefaultGroup, func(g *devices.Group) error {
		g.Unknown = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// discover sends Discover Versions on a new connection and returns its
// result reason (0 on success).
func discover(t *testing.T, env *testenv.Env, conf *tls.Config) kmip.ResultReason {
	t.Helper()
	it, err := dialKMIP(t, env.KMIPAddr, conf).call(&payloads.DiscoverVersionsRequestPayload{})
	if err != nil {
		t.Fatal(err)
	}
	if it.ResultStatus == kmip.ResultStatusSuccess {
		return 0
	}
	return it.ResultReason
}

func TestUnknownCertificatePolicies(t *testing.T) {
	env := testenv.Start(t)
	reg := env.Server.Devices()
	ctx := context.Background()

	t.Run("reject", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyReject)
		conf := env.IssueClient(t, "unknown-reject", pki.RoleClient)
		if got := discover(t, env, conf); got != kmip.ResultReasonAuthenticationNotSuccessful {
			t.Fatalf("got %v", got)
		}
		if pend, _ := reg.PendingCerts(); len(pend) != 0 {
			t.Fatalf("rejected certificate parked: %v", pend)
		}
	})
	t.Run("accept", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyAccept)
		conf := env.IssueClient(t, "unknown-accept", pki.RoleClient)
		if got := discover(t, env, conf); got != 0 {
			t.Fatalf("got %v", got)
		}
		d, err := reg.DeviceByFingerprint(certFingerprint(t, conf))
		if err != nil || d.Group != devices.DefaultGroup || d.State != devices.StateActive {
			t.Fatalf("accepted client: %+v %v", d, err)
		}
	})
	t.Run("pending then approved", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyPending)
		conf := env.IssueClient(t, "unknown-approve", pki.RoleClient)
		if got := discover(t, env, conf); got != kmip.ResultReasonAuthenticationNotSuccessful {
			t.Fatalf("pending client served: %v", got)
		}
		fp := certFingerprint(t, conf)
		if !pendingHas(t, reg, fp) {
			t.Fatal("certificate not in the pending list")
		}
		if _, err := reg.AcceptCert(ctx, fp, devices.DefaultGroup); err != nil {
			t.Fatal(err)
		}
		if got := discover(t, env, conf); got != 0 {
			t.Fatalf("approved client refused: %v", got)
		}
	})
	t.Run("pending then rejected", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyPending)
		conf := env.IssueClient(t, "unknown-refuse", pki.RoleClient)
		discover(t, env, conf)
		fp := certFingerprint(t, conf)
		if err := reg.RejectCert(ctx, fp); err != nil {
			t.Fatal(err)
		}
		if got := discover(t, env, conf); got != kmip.ResultReasonAuthenticationNotSuccessful {
			t.Fatalf("rejected client: %v", got)
		}
		if pendingHas(t, reg, fp) {
			t.Fatal("rejected certificate still pending")
		}
	})
}

func pendingHas(t *testing.T, reg *devices.Registry, fp string) bool {
	t.Helper()
	pend, err := reg.PendingCerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pend {
		if p.Fingerprint == fp {
			return true
		}
	}
	return false
}

// TestRevokedCertificateRefusedEverywhere: once revoked, a certificate
// fails the handshake on the KMIP, device and admin listeners, and an
// already open KMIP connection is refused on its next request.
func TestRevokedCertificateRefusedEverywhere(t *testing.T) {
	env := testenv.Start(t)
	conf := env.IssueClient(t, "to-revoke", pki.RoleAdmin)
	open := dialKMIP(t, env.KMIPAddr, conf)
	open.must(&payloads.DiscoverVersionsRequestPayload{})
	if err := env.Server.Devices().Revoke(context.Background(), devices.RevokedCert{Fingerprint: certFingerprint(t, conf), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	it, err := open.call(&payloads.DiscoverVersionsRequestPayload{})
	if err == nil && it.ResultReason != kmip.ResultReasonAuthenticationNotSuccessful {
		t.Fatalf("open connection after revocation: %v", it.ResultReason)
	}
	for name, addr := range map[string]string{"kmip": env.KMIPAddr, "device": env.DeviceAddr, "admin": env.AdminAddr} {
		t.Run(name, func(t *testing.T) {
			if err := handshake(addr, conf); err == nil {
				t.Fatalf("revoked certificate completed a handshake on the %s listener", name)
			}
			if err := handshake(addr, env.AdminTLS); err != nil {
				t.Fatalf("the administrator is refused too: %v", err)
			}
		})
	}
}

// handshake completes a TLS handshake and one read, which is where a TLS
// 1.3 client learns that the server refused its certificate.
func handshake(addr string, conf *tls.Config) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(&d, "tcp", addr, conf)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	_, err = c.Read(b[:])
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil // the server kept the connection: accepted
	}
	if err == nil {
		return nil
	}
	return err
}
