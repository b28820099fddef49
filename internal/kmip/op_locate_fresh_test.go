package kmip

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
)

func freshLocate(group string, extra ...kmip.Attribute) *payloads.LocateRequestPayload {
	return &payloads.LocateRequestPayload{MaximumItems: 1, ObjectGroupMember: kmip.ObjectGroupMemberFresh,
		Attribute: append([]kmip.Attribute{{AttributeName: kmip.AttributeNameObjectGroup, AttributeValue: group}}, extra...)}
}

// TestFreshMemberOnDemand: a Locate of a fresh member of an Object Group
// the administrator listed makes one when none is left (vectors TC_151);
// other queries and other groups find only what exists.
func TestFreshMemberOnDemand(t *testing.T) {
	r, mem := auditedRouter(t)
	WithFreshGroups("default", "")(r)
	located := func(t *testing.T, req *payloads.LocateRequestPayload) []string {
		t.Helper()
		return ok[*payloads.LocateResponsePayload](t, r, req).UniqueIdentifier
	}
	var first string
	t.Run("made when the group has no fresh member", func(t *testing.T) {
		ids := located(t, freshLocate("default"))
		if len(ids) != 1 {
			t.Fatalf("located %v", ids)
		}
		first = ids[0]
		attrs := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{UniqueIdentifier: first}).Attribute
		want := map[kmip.AttributeName]any{
			kmip.AttributeNameFresh: true, kmip.AttributeNameObjectGroup: "default",
			kmip.AttributeNameCryptographicAlgorithm: kmip.CryptographicAlgorithmAES, kmip.AttributeNameCryptographicLength: int32(256),
			kmip.AttributeNameCryptographicUsageMask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt,
		}
		for _, a := range attrs {
			if w, ok := want[a.AttributeName]; ok {
				if a.AttributeValue != w {
					t.Errorf("%s = %v, want %v", a.AttributeName, a.AttributeValue, w)
				}
				delete(want, a.AttributeName)
			}
		}
		if len(want) > 0 {
			t.Fatalf("missing attributes %v", want)
		}
		var created bool
		for _, ev := range mem.Events() {
			if ev.Operation == "Create" && ev.Type == audit.TypeKey && len(ev.Objects) == 1 && ev.Objects[0] == first {
				created = true
			}
		}
		if !created {
			t.Fatal("no Create audit event for the key made on demand")
		}
	})
	t.Run("a fresh member is found, not made again", func(t *testing.T) {
		if ids := located(t, freshLocate("default")); len(ids) != 1 || ids[0] != first {
			t.Fatalf("located %v, want [%s]", ids, first)
		}
	})
	t.Run("once served, another is made", func(t *testing.T) {
		ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: first})
		if ids := located(t, freshLocate("default")); len(ids) != 1 || ids[0] == first {
			t.Fatalf("located %v, want a new key", ids)
		}
	})
	nothing := []struct {
		name string
		req  *payloads.LocateRequestPayload
	}{
		{"a group not listed", freshLocate("other")},
		{"the empty group name", freshLocate("")},
		{"without Group Member Fresh", &payloads.LocateRequestPayload{Attribute: freshLocate("default").Attribute}},
		{"a query asking more than the group", freshLocate("default", kmip.Attribute{AttributeName: kmip.AttributeNameName,
			AttributeValue: kmip.Name{NameValue: "x", NameType: kmip.NameTypeUninterpretedTextString}})},
		{"another object type", freshLocate("default", kmip.Attribute{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypePrivateKey})},
		{"archived objects only", func() *payloads.LocateRequestPayload {
			q := freshLocate("default")
			q.StorageStatusMask = kmip.StorageStatusArchivalStorage
			return q
		}()},
	}
	for _, tc := range nothing {
		t.Run("nothing made: "+tc.name, func(t *testing.T) {
			if tc.req.ObjectGroupMember == kmip.ObjectGroupMemberFresh && tc.req.Attribute[0].AttributeValue == "default" &&
				len(tc.req.Attribute) == 1 && tc.req.StorageStatusMask == 0 {
				t.Fatal("test case would match the policy")
			}
			count := func() int { return len(located(t, &payloads.LocateRequestPayload{})) }
			before := count()
			located(t, tc.req)
			if after := count(); after != before {
				t.Fatalf("%d objects before the Locate, %d after", before, after)
			}
		})
	}
}

// TestFreshMemberOnDemandRespectsPrincipals: keys made on demand belong
// to the caller's group; callers that may not create keys get none.
func TestFreshMemberOnDemandRespectsPrincipals(t *testing.T) {
	r := newTestRouter(t)
	WithFreshGroups("pool")(r)
	names := []string{"a", "b", "aud", "locate-only"}
	certs := map[string]*x509.Certificate{}
	for _, n := range names {
		c := &x509.Certificate{Raw: []byte(n)}
		c.Subject.CommonName = n
		certs[n] = c
	}
	r.resolver = fakeResolver{by: map[string]devices.Principal{
		"a":           {Kind: devices.KindDevice, Group: "ga"},
		"b":           {Kind: devices.KindDevice, Group: "gb"},
		"aud":         {Kind: devices.KindAuditor, AllGroups: true, ReadOnly: true},
		"locate-only": {Kind: devices.KindDevice, Group: "gc", AllowedOps: []string{"Locate", "Get"}},
	}, revoked: map[string]bool{}}
	send := func(who string, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		msg := kmip.NewRequestMessage(kmip.V1_4, pl)
		raw := r.HandleMessage(context.Background(), Peer{Certificate: certs[who], ConnID: 7}, ttlv.MarshalTTLV(&msg))
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.BatchItem[0]
	}
	locate := func(t *testing.T, who string) []string {
		t.Helper()
		it := send(who, freshLocate("pool"))
		if it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("locate as %s: %s", who, ttlv.EnumStr(it.ResultReason))
		}
		return it.ResponsePayload.(*payloads.LocateResponsePayload).UniqueIdentifier
	}
	ofA := locate(t, "a")
	if len(ofA) != 1 {
		t.Fatalf("a located %v", ofA)
	}
	tests := []struct {
		name string
		who  string
		want func([]string) bool
	}{
		{"another group gets its own key", "b", func(ids []string) bool { return len(ids) == 1 && ids[0] != ofA[0] }},
		{"a read-only caller gets none made", "aud", func(ids []string) bool { return len(ids) == 2 }}, // sees a's and b's only
		{"a caller without Create gets none", "locate-only", func(ids []string) bool { return len(ids) == 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := freshLocate("pool")
			req.MaximumItems = 0
			it := send(tc.who, req)
			if it.ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("locate: %s", ttlv.EnumStr(it.ResultReason))
			}
			if ids := it.ResponsePayload.(*payloads.LocateResponsePayload).UniqueIdentifier; !tc.want(ids) {
				t.Fatalf("located %v", ids)
			}
		})
	}
	t.Run("the group owning a key is the caller's", func(t *testing.T) {
		if it := send("b", &payloads.GetRequestPayload{UniqueIdentifier: ofA[0]}); it.ResultReason != kmip.ResultReasonItemNotFound {
			t.Fatalf("b gets a's key: %s/%s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason))
		}
	})
}
