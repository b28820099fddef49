package e2e

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/conformance"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// discoverAs sends Discover Versions with a KMIP Device credential holding
// serial, on a new connection, and returns the result reason (0: served).
func discoverAs(t *testing.T, env *testenv.Env, conf *tls.Config, serial string) kmip.ResultReason {
	t.Helper()
	c, err := conformance.DialTLS(env.KMIPAddr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.DiscoverVersionsRequestPayload{})
	msg.Header.Authentication = &kmip.Authentication{Credential: kmip.Credential{
		CredentialType:  kmip.CredentialTypeDevice,
		CredentialValue: kmip.CredentialValue{Device: &kmip.CredentialValueDevice{DeviceSerialNumber: serial}},
	}}
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
	if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusSuccess {
		return it.ResultReason
	}
	return 0
}

// TestUnknownDevicePolicies: a KMIP client identified by the serial number
// of its Device credential (SKLM's kmipAuthNeeded) is an unknown device
// until an administrator decides; the default group's policy applies.
func TestUnknownDevicePolicies(t *testing.T) {
	env := testenv.Start(t)
	reg := env.Server.Devices()
	ctx := context.Background()
	conf := env.IssueClient(t, "library-ctl", pki.RoleClient)
	const refused = kmip.ResultReasonAuthenticationNotSuccessful

	t.Run("reject", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyReject)
		if got := discoverAs(t, env, conf, "SN-REJECT"); got != refused {
			t.Fatalf("got %v", got)
		}
		if _, err := reg.DeviceBySerial(devices.FamilyGeneric, "SN-REJECT"); err == nil {
			t.Fatal("a rejected device was added to the table")
		}
	})
	t.Run("accept", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyAccept)
		if got := discoverAs(t, env, conf, "SN-ACCEPT"); got != 0 {
			t.Fatalf("got %v", got)
		}
		if d, err := reg.DeviceBySerial(devices.FamilyGeneric, "SN-ACCEPT"); err != nil || d.State != devices.StateActive {
			t.Fatalf("accepted device: %+v %v", d, err)
		}
	})
	t.Run("pending then approved", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyPending)
		if got := discoverAs(t, env, conf, "SN-APPROVE"); got != refused {
			t.Fatalf("pending device served: %v", got)
		}
		d, err := reg.DeviceBySerial(devices.FamilyGeneric, "SN-APPROVE")
		if err != nil || d.State != devices.StatePending {
			t.Fatalf("pending device: %+v %v", d, err)
		}
		if _, err := reg.Approve(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if got := discoverAs(t, env, conf, "SN-APPROVE"); got != 0 {
			t.Fatalf("approved device refused: %v", got)
		}
	})
	t.Run("pending then rejected", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyPending)
		discoverAs(t, env, conf, "SN-REFUSE")
		d, err := reg.DeviceBySerial(devices.FamilyGeneric, "SN-REFUSE")
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Reject(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if got := discoverAs(t, env, conf, "SN-REFUSE"); got != refused {
			t.Fatalf("rejected device: %v", got)
		}
		if _, err := reg.DeviceBySerial(devices.FamilyGeneric, "SN-REFUSE"); err == nil {
			t.Fatal("a rejected device came back to the table")
		}
	})
}
