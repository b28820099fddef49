package kmip

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/devices"
)

// credResolver resolves certificates with a fakeResolver and request
// credentials with a real device registry (users, devices).
type credResolver struct {
	fakeResolver
	reg *devices.Registry
}

func (c credResolver) NarrowToUser(ctx context.Context, cert devices.Principal, name string, password []byte) (devices.Principal, error) {
	return c.reg.NarrowToUser(ctx, cert, name, password)
}

func (c credResolver) NarrowToDevice(ctx context.Context, cert devices.Principal, serial string) (devices.Principal, error) {
	return c.reg.NarrowToDevice(ctx, cert, serial)
}

// testRegistry is a device registry on its own store in a temp dir.
func testRegistry(t *testing.T) *devices.Registry {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	reg, err := devices.New(context.Background(), devices.Options{Store: st, Barrier: b, DefaultPolicy: devices.PolicyReject})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func userCred(name, password string) *kmip.Authentication {
	return &kmip.Authentication{Credential: kmip.Credential{
		CredentialType:  kmip.CredentialTypeUsernameAndPassword,
		CredentialValue: kmip.CredentialValue{UserPassword: &kmip.CredentialValueUserPassword{Username: name, Password: password}},
	}}
}

func deviceCred(serial, password string) *kmip.Authentication {
	return &kmip.Authentication{Credential: kmip.Credential{
		CredentialType: kmip.CredentialTypeDevice,
		CredentialValue: kmip.CredentialValue{Device: &kmip.CredentialValueDevice{
			DeviceSerialNumber: serial, Password: password, DeviceIdentifier: "id-" + serial}},
	}}
}

func TestRequestCredentials(t *testing.T) {
	ctx := context.Background()
	r, mem := auditedRouter(t)
	reg := testRegistry(t)
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "tapes", Family: devices.FamilyGeneric}); err != nil {
		t.Fatal(err)
	}
	users := []struct{ name, password, group string }{
		{"Fred", "password1", ""}, {"Barney", "secret2", ""}, {"Wilma", "tapes-pw", "tapes"},
	}
	for _, u := range users {
		if _, err := reg.AddKMIPUser(ctx, u.name, []byte(u.password), u.group); err != nil {
			t.Fatal(err)
		}
	}
	for _, serial := range []string{"SER-1", "SER-2"} {
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.FamilyGeneric, Serial: serial, Group: "default", State: devices.StateActive}); err != nil {
			t.Fatal(err)
		}
	}
	cert := func(cn string) *x509.Certificate {
		c := &x509.Certificate{Raw: []byte("cert-" + cn)}
		c.Subject.CommonName = cn
		return c
	}
	admin, drive, aud, revoked := cert("admin"), cert("drive"), cert("aud"), cert("revoked")
	r.resolver = credResolver{reg: reg, fakeResolver: fakeResolver{
		by: map[string]devices.Principal{
			"admin":   {Kind: devices.KindAdmin, Name: "admin", Group: "default", AllGroups: true},
			"drive":   {Kind: devices.KindDevice, Name: "drive", Group: "tapes", DeviceID: "D-1"},
			"aud":     {Kind: devices.KindAuditor, Name: "aud", Group: "default", AllGroups: true, ReadOnly: true},
			"revoked": {Kind: devices.KindAdmin, Name: "revoked", Group: "default", AllGroups: true},
		},
		revoked: map[string]bool{devices.Fingerprint(revoked): true},
	}}
	send := func(c *x509.Certificate, conn uint64, auth *kmip.Authentication, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		t.Helper()
		msg := kmip.NewRequestMessage(kmip.V1_2, pl)
		msg.Header.Authentication = auth
		raw := r.HandleMessage(ctx, Peer{Certificate: c, ConnID: conn}, ttlv.MarshalTTLV(&msg))
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.BatchItem[0]
	}
	create := func(c *x509.Certificate, auth *kmip.Authentication, name string) string {
		t.Helper()
		it := send(c, 99, auth, aesCreate(name))
		if it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("create %s: %v %s", name, it.ResultReason, it.ResultMessage)
		}
		return it.ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	}
	fredKey := create(admin, userCred("Fred", "password1"), "fred-key")
	plainKey := create(admin, nil, "plain-key")
	deviceKey := create(admin, deviceCred("SER-1", "any"), "device-key")
	wilmaKey := create(drive, userCred("Wilma", "tapes-pw"), "wilma-key")

	get := func(id string) kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: id} }
	const (
		ok         = kmip.ResultReason(0)
		denied     = kmip.ResultReasonPermissionDenied
		authFailed = kmip.ResultReasonAuthenticationNotSuccessful
	)
	tests := []struct {
		name    string
		cert    *x509.Certificate
		auth    *kmip.Authentication
		pl      kmip.OperationPayload
		reason  kmip.ResultReason
		outcome audit.Outcome // checked when not empty
	}{
		{"right password: the owner gets its key", admin, userCred("Fred", "password1"), get(fredKey), ok, audit.Success},
		{"second user is denied the first one's key", admin, userCred("Barney", "secret2"), get(fredKey), denied, audit.Denied},
		{"second user is denied its attribute list", admin, userCred("Barney", "secret2"),
			&payloads.GetAttributeListRequestPayload{UniqueIdentifier: fredKey}, denied, audit.Denied},
		{"second user may not destroy it", admin, userCred("Barney", "secret2"),
			&payloads.DestroyRequestPayload{UniqueIdentifier: fredKey}, denied, audit.Denied},
		{"wrong password", admin, userCred("Fred", "password2"), get(fredKey), authFailed, audit.Denied},
		{"empty password", admin, userCred("Fred", ""), get(fredKey), authFailed, audit.Denied},
		{"unknown user", admin, userCred("Dino", "password1"), get(fredKey), authFailed, audit.Denied},
		{"user credential without a value", admin, &kmip.Authentication{Credential: kmip.Credential{
			CredentialType: kmip.CredentialTypeUsernameAndPassword}}, get(fredKey), authFailed, audit.Denied},
		{"no credential: the administrator's certificate as today", admin, nil, get(fredKey), ok, audit.Success},
		{"user on an unowned key of its group", admin, userCred("Barney", "secret2"), get(plainKey), ok, ""},
		{"revoked certificate with a valid credential", revoked, userCred("Fred", "password1"), get(fredKey), authFailed, audit.Denied},
		{"a credential cannot widen a certificate's group", drive, userCred("Fred", "password1"), get(fredKey), authFailed, audit.Denied},
		{"user in the certificate's group", drive, userCred("Wilma", "tapes-pw"), get(wilmaKey), ok, ""},
		{"certificate of the group without the user's credential", drive, nil, get(wilmaKey), denied, audit.Denied},
		{"read-only certificate stays read-only", aud, userCred("Fred", "password1"), aesCreate("aud-key"), denied, audit.Denied},
		{"device credential: the device gets its key", admin, deviceCred("SER-1", "x"), get(deviceKey), ok, ""},
		{"another device credential is denied it", admin, deviceCred("SER-2", "x"), get(deviceKey), denied, audit.Denied},
		{"unregistered device credential", admin, deviceCred("SER-NONE", "x"), get(deviceKey), authFailed, audit.Denied},
		{"user is denied a device's key", admin, userCred("Fred", "password1"), get(deviceKey), denied, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem.Reset()
			it := send(tc.cert, uint64(100+i), tc.auth, tc.pl)
			if tc.reason == ok && it.ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("want success, got %v %s", it.ResultReason, it.ResultMessage)
			}
			if tc.reason != ok && (it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != tc.reason) {
				t.Fatalf("want %v, got %v/%v %s", tc.reason, it.ResultStatus, it.ResultReason, it.ResultMessage)
			}
			evs := mem.Events()
			if len(evs) != 1 {
				t.Fatalf("%d audit events, want 1", len(evs))
			}
			if tc.outcome != "" && evs[0].Outcome != tc.outcome {
				t.Fatalf("audit outcome %q, want %q (%+v)", evs[0].Outcome, tc.outcome, evs[0])
			}
			if tc.reason == authFailed && evs[0].Type != audit.TypeAuth {
				t.Fatalf("audit type %q for a refused credential", evs[0].Type)
			}
			if up := tc.auth; up != nil && up.Credential.CredentialValue.UserPassword != nil {
				js, err := json.Marshal(evs[0])
				if err != nil {
					t.Fatal(err)
				}
				if pw := up.Credential.CredentialValue.UserPassword.Password; pw != "" && strings.Contains(string(js), pw) {
					t.Fatalf("audit event holds the password: %s", js)
				}
				// A revoked certificate is refused before its credential is read.
				if tc.cert != revoked && !strings.Contains(string(js), up.Credential.CredentialValue.UserPassword.Username) {
					t.Fatalf("audit event does not name the user: %s", js)
				}
			}
		})
	}

	t.Run("one connection, credential changed between requests", func(t *testing.T) {
		if it := send(admin, 7, userCred("Fred", "password1"), get(fredKey)); it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("Fred: %v", it.ResultReason)
		}
		if it := send(admin, 7, userCred("Barney", "secret2"), get(fredKey)); it.ResultReason != denied {
			t.Fatalf("Barney on Fred's connection: %v", it.ResultReason)
		}
		if it := send(admin, 7, userCred("Fred", "wrong"), get(fredKey)); it.ResultReason != authFailed {
			t.Fatalf("wrong password after a verified one on the same connection: %v", it.ResultReason)
		}
	})
	t.Run("removed user", func(t *testing.T) {
		if err := reg.RemoveKMIPUser(ctx, "Barney"); err != nil {
			t.Fatal(err)
		}
		if it := send(admin, 500, userCred("Barney", "secret2"), get(plainKey)); it.ResultReason != authFailed {
			t.Fatalf("removed user: %v", it.ResultReason)
		}
	})
}
