package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/testenv"
)

// TestKMIPClientOperations covers, with ovh's kmipclient, the operations
// the scenario does not: one subtest per operation, each on its own
// objects, so that a failing one names the operation and its KMIP result.
func TestKMIPClientOperations(t *testing.T) {
	env := testenv.Start(t)
	c := dialAdmin(t, env)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	newAES := func(t *testing.T, activate bool) string {
		t.Helper()
		resp, err := c.Create().AES(256, usage).Exec()
		if err != nil {
			t.Fatalf("Create AES-256: %v", err)
		}
		if activate {
			if _, err := c.Activate(resp.UniqueIdentifier).Exec(); err != nil {
				t.Fatalf("Activate %s: %v", resp.UniqueIdentifier, err)
			}
		}
		return resp.UniqueIdentifier
	}
	material := func(t *testing.T, id string) []byte {
		t.Helper()
		return getSymmetric(t, c, id)
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{name: "DiscoverVersions", run: func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := c.Request(ctx, &payloads.DiscoverVersionsRequestPayload{})
			if err != nil {
				t.Fatalf("Discover Versions: %v", err)
			}
			got := resp.(*payloads.DiscoverVersionsResponsePayload).ProtocolVersion
			// Every version the server speaks, newest first, whatever the request header says.
			want := []kmip.ProtocolVersion{kmip.V2_1, kmip.V2_0, kmip.V1_4, kmip.V1_3, kmip.V1_2, kmip.V1_1, kmip.V1_0}
			if !slices.Equal(got, want) {
				t.Errorf("Discover Versions = %v, want %v", got, want)
			}
		}},
		{name: "Query", run: func(t *testing.T) {
			resp, err := c.Query().Operations().Objects().ServerInformation().Exec()
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			for _, op := range []kmip.Operation{
				kmip.OperationDiscoverVersions, kmip.OperationQuery, kmip.OperationCreate, kmip.OperationCreateKeyPair,
				kmip.OperationRegister, kmip.OperationReKey, kmip.OperationGet, kmip.OperationGetAttributes,
				kmip.OperationGetAttributeList, kmip.OperationAddAttribute, kmip.OperationModifyAttribute,
				kmip.OperationDeleteAttribute, kmip.OperationLocate, kmip.OperationActivate, kmip.OperationRevoke,
				kmip.OperationDestroy, kmip.OperationCheck, kmip.OperationGetUsageAllocation,
				kmip.OperationObtainLease, kmip.OperationArchive, kmip.OperationRecover,
			} {
				if !slices.Contains(resp.Operations, op) {
					t.Errorf("Query Operations lacks %v (got %v)", op, resp.Operations)
				}
			}
			for _, ot := range []kmip.ObjectType{kmip.ObjectTypeSymmetricKey, kmip.ObjectTypePublicKey, kmip.ObjectTypePrivateKey, kmip.ObjectTypeSecretData} {
				if !slices.Contains(resp.ObjectType, ot) {
					t.Errorf("Query Objects lacks %v (got %v)", ot, resp.ObjectType)
				}
			}
			if resp.VendorIdentification == "" {
				t.Errorf("Query Server Information: empty Vendor Identification")
			}
		}},
		{name: "RegisterSymmetricKey", run: func(t *testing.T) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				t.Fatal(err)
			}
			resp, err := c.Register().SymmetricKey(kmip.CryptographicAlgorithmAES, usage, key).Exec()
			if err != nil {
				t.Fatalf("Register AES key: %v", err)
			}
			if got := material(t, resp.UniqueIdentifier); !bytes.Equal(got, key) {
				t.Errorf("Get of registered key %s returned different material", resp.UniqueIdentifier)
			}
			attrs, err := c.GetAttributes(resp.UniqueIdentifier, kmip.AttributeNameCryptographicLength).Exec()
			if err != nil {
				t.Fatalf("Get Attributes: %v", err)
			}
			checkAttrs(t, resp.UniqueIdentifier, attrs.Attribute, map[kmip.AttributeName]any{kmip.AttributeNameCryptographicLength: int32(256)})
		}},
		{name: "BatchWithIDPlaceholder", run: func(t *testing.T) {
			res, err := c.Create().AES(256, usage).
				Then(func(c *kmipclient.Client) kmipclient.PayloadBuilder { return c.Get("") }).
				Exec()
			if err != nil {
				t.Fatalf("Create+Get batch: %v", err)
			}
			out, err := res.Unwrap()
			if err != nil {
				t.Fatalf("Create+Get batch: %v", err)
			}
			created, got := out[0].(*payloads.CreateResponsePayload), out[1].(*payloads.GetResponsePayload)
			if got.UniqueIdentifier != created.UniqueIdentifier {
				t.Errorf("Get with ID placeholder returned %s, want %s", got.UniqueIdentifier, created.UniqueIdentifier)
			}
		}},
		{name: "GetAttributeList", run: func(t *testing.T) {
			id := newAES(t, false)
			resp, err := c.GetAttributeList(id).Exec()
			if err != nil {
				t.Fatalf("Get Attribute List: %v", err)
			}
			for _, n := range []kmip.AttributeName{
				kmip.AttributeNameUniqueIdentifier, kmip.AttributeNameObjectType, kmip.AttributeNameCryptographicAlgorithm,
				kmip.AttributeNameCryptographicLength, kmip.AttributeNameState, kmip.AttributeNameInitialDate,
			} {
				if !slices.Contains(resp.AttributeName, n) {
					t.Errorf("Get Attribute List lacks %q (got %v)", n, resp.AttributeName)
				}
			}
		}},
		{name: "AddModifyDeleteAttribute", run: func(t *testing.T) {
			id := newAES(t, false)
			contact := func() []any {
				t.Helper()
				resp, err := c.GetAttributes(id, kmip.AttributeNameContactInformation).Exec()
				if err != nil {
					t.Fatalf("Get Attributes Contact Information: %v", err)
				}
				return attrValues(resp.Attribute, kmip.AttributeNameContactInformation)
			}
			if _, err := c.AddAttribute(id, kmip.AttributeNameContactInformation, "ops@example.com").Exec(); err != nil {
				t.Fatalf("Add Attribute: %v", err)
			}
			if got := contact(); !slices.Equal(got, []any{"ops@example.com"}) {
				t.Errorf("after Add Attribute: %v", got)
			}
			if _, err := c.ModifyAttribute(id, kmip.AttributeNameContactInformation, "sec@example.com").Exec(); err != nil {
				t.Fatalf("Modify Attribute: %v", err)
			}
			if got := contact(); !slices.Equal(got, []any{"sec@example.com"}) {
				t.Errorf("after Modify Attribute: %v", got)
			}
			if _, err := c.DeleteAttribute(id, kmip.AttributeNameContactInformation).Exec(); err != nil {
				t.Fatalf("Delete Attribute: %v", err)
			}
			if got := contact(); len(got) != 0 {
				t.Errorf("after Delete Attribute: %v", got)
			}
		}},
		{name: "LocateByApplicationSpecificInformation", run: func(t *testing.T) {
			id := newAES(t, false)
			_ = newAES(t, false) // a second key that must not match
			asi := kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "VOL042L8"}
			if _, err := c.AddAttribute(id, kmip.AttributeNameApplicationSpecificInformation, asi).Exec(); err != nil {
				t.Fatalf("Add Attribute ASI: %v", err)
			}
			resp, err := c.Locate().WithAttribute(kmip.AttributeNameApplicationSpecificInformation, asi).Exec()
			if err != nil {
				t.Fatalf("Locate by ASI: %v", err)
			}
			if !slices.Equal(resp.UniqueIdentifier, []string{id}) {
				t.Errorf("Locate by ASI = %v, want [%s]", resp.UniqueIdentifier, id)
			}
		}},
		{name: "ReKey", run: func(t *testing.T) {
			oldID := newAES(t, true)
			resp, err := c.Rekey(oldID).Exec()
			if err != nil {
				t.Fatalf("Re-key %s: %v", oldID, err)
			}
			newID := resp.UniqueIdentifier
			if newID == "" || newID == oldID {
				t.Fatalf("Re-key returned id %q for %q", newID, oldID)
			}
			oldKey, newKey := material(t, oldID), material(t, newID)
			if len(newKey) != 32 || bytes.Equal(oldKey, newKey) {
				t.Errorf("Re-key: new key is %d bytes, equal to old: %v", len(newKey), bytes.Equal(oldKey, newKey))
			}
			for _, l := range []struct{ from, to string }{{oldID, newID}, {newID, oldID}} {
				attrs, err := c.GetAttributes(l.from, kmip.AttributeNameLink).Exec()
				if err != nil {
					t.Fatalf("Get Attributes Link: %v", err)
				}
				if !linksTo(attrs.Attribute, l.to) {
					t.Errorf("after Re-key %s has no Link to %s", l.from, l.to)
				}
			}
		}},
		{name: "GetUsageAllocation", run: func(t *testing.T) {
			resp, err := c.Create().AES(256, usage).WithUsageLimit(100, kmip.UsageLimitsUnitObject).Exec()
			if err != nil {
				t.Fatalf("Create with Usage Limits: %v", err)
			}
			id := resp.UniqueIdentifier
			if _, err := c.Activate(id).Exec(); err != nil {
				t.Fatalf("Activate: %v", err)
			}
			if _, err := c.GetUsageAllocation(id, 10).Exec(); err != nil {
				t.Fatalf("Get Usage Allocation: %v", err)
			}
			attrs, err := c.GetAttributes(id, kmip.AttributeNameUsageLimits).Exec()
			if err != nil {
				t.Fatalf("Get Attributes Usage Limits: %v", err)
			}
			ul, ok := oneAttr(t, attrs.Attribute, kmip.AttributeNameUsageLimits).(kmip.UsageLimits)
			if !ok || ul.UsageLimitsTotal != 100 || ul.UsageLimitsCount == nil || *ul.UsageLimitsCount != 90 {
				t.Errorf("Usage Limits after allocating 10 of 100: %+v", ul)
			}
			if item := send(t, c, c.GetUsageAllocation(id, 1000)); item.ResultStatus == kmip.ResultStatusSuccess {
				t.Errorf("allocating 1000 of the remaining 90 succeeded")
			}
		}},
		{name: "ObtainLease", run: func(t *testing.T) {
			id := newAES(t, true)
			resp, err := c.ObtainLease(id).Exec()
			if err != nil {
				t.Fatalf("Obtain Lease: %v", err)
			}
			if resp.UniqueIdentifier != id || resp.LastChangeDate.IsZero() || resp.LeaseTime < 0 {
				t.Errorf("Obtain Lease = %+v", resp)
			}
		}},
		{name: "ArchiveRecover", run: func(t *testing.T) {
			id := newAES(t, false)
			before := material(t, id)
			if _, err := c.Archive(id).Exec(); err != nil {
				t.Fatalf("Archive: %v", err)
			}
			expectReason(t, c, c.Get(id), kmip.ResultReasonObjectArchived)
			if _, err := c.Recover(id).Exec(); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if after := material(t, id); !bytes.Equal(before, after) {
				t.Errorf("key material changed across Archive/Recover")
			}
		}},
		{name: "RevokeCompromiseDestroy", run: func(t *testing.T) {
			id := newAES(t, true)
			if _, err := c.Revoke(id).WithRevocationReasonCode(kmip.RevocationReasonCodeKeyCompromise).
				WithCompromiseOccurrenceDate(time.Now().Add(-time.Hour)).Exec(); err != nil {
				t.Fatalf("Revoke (key compromise): %v", err)
			}
			if st := stateOf(t, c, id); st != kmip.StateCompromised {
				t.Errorf("after compromise: State = %v, want Compromised", st)
			}
			if _, err := c.Destroy(id).Exec(); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			if st := stateOf(t, c, id); st != kmip.StateDestroyedCompromised {
				t.Errorf("after Destroy: State = %v, want Destroyed Compromised", st)
			}
		}},
		{name: "GetUnknownID", run: func(t *testing.T) {
			expectReason(t, c, c.Get("no-such-object"), kmip.ResultReasonItemNotFound)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}
