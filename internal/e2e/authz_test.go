package e2e

import (
	"context"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/devices"
	kwkmip "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestGroupIsolationMatrix: two groups with a device each. For every KMIP
// operation that names an object, group B acting on group A's object gets
// exactly the answer it gets for an id that does not exist, and A's ids
// never appear in B's Locate results.
func TestGroupIsolationMatrix(t *testing.T) {
	env := testenv.Start(t)
	reg := env.Server.Devices()
	ctx := context.Background()
	confA := env.IssueClient(t, "drive-a", pki.RoleClient)
	confB := env.IssueClient(t, "drive-b", pki.RoleClient)
	for _, g := range []string{"TAPES_A", "TAPES_B"} {
		if _, err := reg.CreateGroup(ctx, devices.Group{Name: g, Family: devices.FamilyGeneric, Unknown: devices.PolicyReject}); err != nil {
			t.Fatal(err)
		}
	}
	for serial, c := range map[string]struct {
		group string
		fp    string
	}{"A-1": {"TAPES_A", certFingerprint(t, confA)}, "B-1": {"TAPES_B", certFingerprint(t, confB)}} {
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.FamilyGeneric, Serial: serial, Group: c.group, Fingerprints: []string{c.fp}}); err != nil {
			t.Fatal(err)
		}
	}
	a := dialKMIP(t, env.KMIPAddr, confA)
	b := dialKMIP(t, env.KMIPAddr, confB)
	idA := a.must(aesKey("matrix-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	idB := b.must(aesKey("matrix-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	const missing = "01a20000-0000-7000-8000-000000000000"

	ops := map[string]func(id string) kmip.OperationPayload{
		"Get": func(id string) kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: id} },
		"GetAttributes": func(id string) kmip.OperationPayload {
			return &payloads.GetAttributesRequestPayload{UniqueIdentifier: id}
		},
		"GetAttributeList": func(id string) kmip.OperationPayload {
			return &payloads.GetAttributeListRequestPayload{UniqueIdentifier: id}
		},
		"Activate": func(id string) kmip.OperationPayload { return &payloads.ActivateRequestPayload{UniqueIdentifier: id} },
		"Destroy":  func(id string) kmip.OperationPayload { return &payloads.DestroyRequestPayload{UniqueIdentifier: id} },
		"Archive":  func(id string) kmip.OperationPayload { return &payloads.ArchiveRequestPayload{UniqueIdentifier: id} },
		"Recover":  func(id string) kmip.OperationPayload { return &payloads.RecoverRequestPayload{UniqueIdentifier: id} },
		"ObtainLease": func(id string) kmip.OperationPayload {
			return &payloads.ObtainLeaseRequestPayload{UniqueIdentifier: id}
		},
		"ReKey": func(id string) kmip.OperationPayload { return &payloads.RekeyRequestPayload{UniqueIdentifier: id} },
		"Check": func(id string) kmip.OperationPayload { return &kwkmip.CheckRequestPayload{UniqueIdentifier: id} },
		"GetUsageAllocation": func(id string) kmip.OperationPayload {
			return &payloads.GetUsageAllocationRequestPayload{UniqueIdentifier: id, UsageLimitsCount: 1}
		},
		"Revoke": func(id string) kmip.OperationPayload {
			return &payloads.RevokeRequestPayload{UniqueIdentifier: id, RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeUnspecified}}
		},
		"AddAttribute": func(id string) kmip.OperationPayload {
			return &payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: kmip.Attribute{AttributeName: "x-owner", AttributeValue: "b"}}
		},
		"ModifyAttribute": func(id string) kmip.OperationPayload {
			return &payloads.ModifyAttributeRequestPayload{UniqueIdentifier: id, Attribute: kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "stolen", NameType: kmip.NameTypeUninterpretedTextString}}}
		},
		"DeleteAttribute": func(id string) kmip.OperationPayload {
			return &payloads.DeleteAttributeRequestPayload{UniqueIdentifier: id, AttributeName: kmip.AttributeNameName}
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			other, err := b.call(op(idA))
			if err != nil {
				t.Fatal(err)
			}
			absent, err := b.call(op(missing))
			if err != nil {
				t.Fatal(err)
			}
			if other.ResultStatus != absent.ResultStatus || other.ResultReason != absent.ResultReason || other.ResultMessage != absent.ResultMessage {
				t.Fatalf("A's object: %v/%v %q; missing id: %v/%v %q", other.ResultStatus, other.ResultReason, other.ResultMessage, absent.ResultStatus, absent.ResultReason, absent.ResultMessage)
			}
			if other.ResultReason != kmip.ResultReasonItemNotFound {
				t.Fatalf("want Item Not Found, got %v", other.ResultReason)
			}
		})
	}
	t.Run("Locate", func(t *testing.T) {
		got := b.must(&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "matrix-key", NameType: kmip.NameTypeUninterpretedTextString}},
		}}).(*payloads.LocateResponsePayload).UniqueIdentifier
		if len(got) != 1 || got[0] != idB {
			t.Fatalf("B's Locate = %v; want only its own %s (A's is %s)", got, idB, idA)
		}
		all := b.must(&payloads.LocateRequestPayload{}).(*payloads.LocateResponsePayload).UniqueIdentifier
		for _, id := range all {
			if id == idA {
				t.Fatalf("B's Locate of everything lists A's object")
			}
		}
	})
	t.Run("A still owns its key", func(t *testing.T) {
		a.must(&payloads.GetRequestPayload{UniqueIdentifier: idA})
	})
}
