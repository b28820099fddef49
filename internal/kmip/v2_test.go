package kmip

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// item2 is one batch item of a hand-built 2.x request.
func item2(op kmip.Operation, payload ...ttlv.Value) ttlv.Value {
	return ttlv.Value{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
		{Tag: kmip.TagOperation, Value: ttlv.Enum(op)},
		{Tag: kmip.TagRequestPayload, Value: ttlv.Struct(payload)},
	}}
}

// send2 sends a request of the given version with the items and returns
// the decoded generic response.
func send2(t *testing.T, r *Router, v kmip.ProtocolVersion, items ...ttlv.Value) ttlv.Struct {
	t.Helper()
	msg := ttlv.Value{Tag: kmip.TagRequestMessage, Value: append(ttlv.Struct{
		{Tag: kmip.TagRequestHeader, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
				{Tag: kmip.TagProtocolVersionMajor, Value: v.ProtocolVersionMajor},
				{Tag: kmip.TagProtocolVersionMinor, Value: v.ProtocolVersionMinor},
			}},
			{Tag: kmip.TagBatchCount, Value: int32(len(items))},
		}},
	}, items...)}
	raw := r.HandleMessage(context.Background(), Peer{}, ttlv.MarshalTTLV(msg))
	var resp ttlv.Value
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	s, _ := resp.Value.(ttlv.Struct)
	return s
}

// find returns the first item with the tag, or nil.
func find(s ttlv.Struct, tag int) *ttlv.Value {
	for i := range s {
		if s[i].Tag == tag {
			return &s[i]
		}
	}
	return nil
}

func sub(v *ttlv.Value) ttlv.Struct {
	if v == nil {
		return nil
	}
	s, _ := v.Value.(ttlv.Struct)
	return s
}

// items returns the batch items of a response.
func items(resp ttlv.Struct) []ttlv.Struct {
	var out []ttlv.Struct
	for i := range resp {
		if resp[i].Tag == kmip.TagBatchItem {
			out = append(out, sub(&resp[i]))
		}
	}
	return out
}

// responseVersion reads the header's protocol version.
func responseVersion(resp ttlv.Struct) kmip.ProtocolVersion {
	pv := sub(find(sub(find(resp, kmip.TagResponseHeader)), kmip.TagProtocolVersion))
	maj, _ := find(pv, kmip.TagProtocolVersionMajor).Value.(int32)
	mnr, _ := find(pv, kmip.TagProtocolVersionMinor).Value.(int32)
	return kmip.ProtocolVersion{ProtocolVersionMajor: maj, ProtocolVersionMinor: mnr}
}

func status(t *testing.T, it ttlv.Struct) (kmip.ResultStatus, kmip.ResultReason) {
	t.Helper()
	s, _ := find(it, kmip.TagResultStatus).Value.(ttlv.Enum)
	var r ttlv.Enum
	if v := find(it, kmip.TagResultReason); v != nil {
		r, _ = v.Value.(ttlv.Enum)
	}
	return kmip.ResultStatus(s), kmip.ResultReason(r)
}

// create2 creates an AES key through a 2.1 request and returns its id.
func create2(t *testing.T, r *Router, name string) string {
	t.Helper()
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationCreate,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
			{Tag: kmip.TagCryptographicLength, Value: int32(256)},
			{Tag: kmip.TagCryptographicUsageMask, Value: int32(kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt)},
			{Tag: kmip.TagName, Value: ttlv.Struct{
				{Tag: kmip.TagNameValue, Value: name},
				{Tag: kmip.TagNameType, Value: ttlv.Enum(kmip.NameTypeUninterpretedTextString)},
			}},
			{Tag: kmip.TagAttribute, Value: ttlv.Struct{
				{Tag: kmip.TagVendorIdentification, Value: "x"},
				{Tag: kmip.TagAttributeName, Value: "Owner"},
				{Tag: kmip.TagAttributeValue, Value: "ops"},
			}},
		}},
	))
	if v := responseVersion(resp); v != kmip.V2_1 {
		t.Fatalf("response version %v, want 2.1", v)
	}
	it := items(resp)
	if len(it) != 1 {
		t.Fatalf("got %d items", len(it))
	}
	if st, reason := status(t, it[0]); st != kmip.ResultStatusSuccess {
		t.Fatalf("create: %v %v", st, reason)
	}
	id, _ := find(sub(find(it[0], kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string)
	if id == "" {
		t.Fatal("create: no unique identifier")
	}
	return id
}

func TestV2DiscoverVersions(t *testing.T) {
	r := newTestRouter(t)
	want := []kmip.ProtocolVersion{kmip.V2_1, kmip.V2_0, kmip.V1_4, kmip.V1_3, kmip.V1_2, kmip.V1_1, kmip.V1_0}
	for _, v := range []kmip.ProtocolVersion{kmip.V1_4, kmip.V2_0, kmip.V2_1} {
		t.Run(v.String(), func(t *testing.T) {
			resp := send2(t, r, v, item2(kmip.OperationDiscoverVersions))
			if got := responseVersion(resp); got != v {
				t.Fatalf("response version %v, want %v", got, v)
			}
			var got []kmip.ProtocolVersion
			for _, pv := range sub(find(items(resp)[0], kmip.TagResponsePayload)) {
				maj, _ := find(sub(&pv), kmip.TagProtocolVersionMajor).Value.(int32)
				mnr, _ := find(sub(&pv), kmip.TagProtocolVersionMinor).Value.(int32)
				got = append(got, kmip.ProtocolVersion{ProtocolVersionMajor: maj, ProtocolVersionMinor: mnr})
			}
			if !slices.Equal(got, want) {
				t.Fatalf("versions %v, want %v", got, want)
			}
		})
	}
}

func TestV2GetAttributesStructure(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-attrs")
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationGetAttributes,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
		ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagCryptographicAlgorithm)},
		ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip2.TagShortUniqueIdentifier)},
		ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Struct{
			{Tag: kmip.TagVendorIdentification, Value: "x"},
			{Tag: kmip.TagAttributeName, Value: "Owner"},
		}},
	))
	attrs := sub(find(sub(find(items(resp)[0], kmip.TagResponsePayload)), kmip2.TagAttributes))
	var tags []int
	for _, a := range attrs {
		tags = append(tags, a.Tag)
	}
	slices.Sort(tags)
	if want := []int{kmip.TagAttribute, kmip.TagCryptographicAlgorithm, kmip2.TagShortUniqueIdentifier}; !slices.Equal(tags, want) {
		t.Fatalf("attribute tags %x, want %x", tags, want)
	}
	sum := sha256.Sum256([]byte(id))
	if got, _ := find(attrs, kmip2.TagShortUniqueIdentifier).Value.([]byte); !bytes.Equal(got, sum[:]) {
		t.Fatalf("short unique identifier %x, want %x", got, sum)
	}
	if got := text(sub(find(attrs, kmip.TagAttribute)), kmip.TagAttributeValue); got != "ops" {
		t.Fatalf("vendor attribute value %q, want ops", got)
	}
}

func text(s ttlv.Struct, tag int) string {
	if v := find(s, tag); v != nil {
		t, _ := v.Value.(string)
		return t
	}
	return ""
}

// TestV1NeverSeesV2OnlyAttributes: the attributes only 2.x defines reach
// 2.x clients and never a 1.x client, for the same object.
func TestV1NeverSeesV2OnlyAttributes(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v1-view")
	only2 := []kmip.AttributeName{kmip2.AttrShortUniqueIdentifier, kmip2.AttrProtectionStorageMask, kmip2.AttrKeyFormatType}
	for _, v := range []kmip.ProtocolVersion{kmip.V1_0, kmip.V1_2, kmip.V1_4} {
		t.Run(v.String(), func(t *testing.T) {
			resp := roundTrip(t, r, kmip.NewRequestMessage(v,
				&payloads.GetAttributesRequestPayload{UniqueIdentifier: id},
				&payloads.GetAttributeListRequestPayload{UniqueIdentifier: id}))
			if resp.Header.ProtocolVersion != v {
				t.Fatalf("response version %v", resp.Header.ProtocolVersion)
			}
			ga := resp.BatchItem[0].ResponsePayload.(*payloads.GetAttributesResponsePayload)
			if len(ga.Attribute) == 0 {
				t.Fatal("no attributes at all")
			}
			for _, a := range ga.Attribute {
				if slices.Contains(only2, a.AttributeName) {
					t.Errorf("get attributes gave a 1.%d client %q", v.ProtocolVersionMinor, a.AttributeName)
				}
			}
			gl := resp.BatchItem[1].ResponsePayload.(*payloads.GetAttributeListResponsePayload)
			for _, n := range gl.AttributeName {
				if slices.Contains(only2, n) {
					t.Errorf("get attribute list gave a 1.%d client %q", v.ProtocolVersionMinor, n)
				}
			}
		})
	}
	t.Run("2.1 sees them", func(t *testing.T) {
		resp := send2(t, r, kmip.V2_1, item2(kmip.OperationGetAttributeList, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}))
		var refs []int
		for _, v := range sub(find(items(resp)[0], kmip.TagResponsePayload)) {
			if e, ok := v.Value.(ttlv.Enum); ok && v.Tag == kmip2.TagAttributeReference {
				refs = append(refs, int(e))
			}
		}
		for _, tag := range []int{kmip2.TagShortUniqueIdentifier, kmip2.TagProtectionStorageMask, kmip.TagKeyFormatType} {
			if !slices.Contains(refs, tag) {
				t.Errorf("2.1 attribute list lacks %s", ttlv.TagString(tag))
			}
		}
	})
}

func TestV2ResultReasonsAndOperations(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-reasons")
	tests := []struct {
		name       string
		v          kmip.ProtocolVersion
		item       ttlv.Value
		wantStatus kmip.ResultStatus
		wantReason kmip.ResultReason
	}{
		{"1.4 get of a missing object", kmip.V1_4, item2(kmip.OperationGet, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "nope"}),
			kmip.ResultStatusOperationFailed, kmip.ResultReasonItemNotFound},
		{"2.1 get of a missing object", kmip.V2_1, item2(kmip.OperationGet, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "nope"}),
			kmip.ResultStatusOperationFailed, kmip2.ResultReasonObjectNotFound},
		{"2.1 check of a usage the key lacks", kmip.V2_1, item2(kmip.OperationCheck,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip.TagCryptographicUsageMask, Value: int32(kmip.CryptographicUsageSign)}),
			kmip.ResultStatusOperationFailed, kmip2.ResultReasonIncompatibleCryptographicUsageMask},
		{"2.1 interop", kmip.V2_1, item2(kmip2.OperationInterop,
			ttlv.Value{Tag: kmip2.TagInteropFunction, Value: ttlv.Enum(kmip2.InteropFunctionBegin)},
			ttlv.Value{Tag: kmip2.TagInteropIdentifier, Value: "case-1"}),
			kmip.ResultStatusSuccess, 0},
		{"1.4 interop is not offered", kmip.V1_4, item2(kmip2.OperationInterop,
			ttlv.Value{Tag: kmip2.TagInteropFunction, Value: ttlv.Enum(kmip2.InteropFunctionBegin)},
			ttlv.Value{Tag: kmip2.TagInteropIdentifier, Value: "case-1"}),
			kmip.ResultStatusOperationFailed, kmip.ResultReasonOperationNotSupported},
		{"2.1 log", kmip.V2_1, item2(kmip2.OperationLog, ttlv.Value{Tag: kmip2.TagLogMessage, Value: "hello"}),
			kmip.ResultStatusSuccess, 0},
		{"2.1 attribute the server does not keep", kmip.V2_1, item2(kmip.OperationLocate,
			ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{{Tag: 0x420145, Value: ttlv.Enum(1)}}}),
			kmip.ResultStatusOperationFailed, kmip2.ResultReasonUnsupportedAttribute},
		{"2.1 duplicate name", kmip.V2_1, item2(kmip.OperationAddAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{{Tag: kmip.TagName, Value: ttlv.Struct{
				{Tag: kmip.TagNameValue, Value: "v2-reasons"},
				{Tag: kmip.TagNameType, Value: ttlv.Enum(kmip.NameTypeUninterpretedTextString)},
			}}}}),
			kmip.ResultStatusOperationFailed, kmip2.ResultReasonNonUniqueNameAttribute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := send2(t, r, tc.v, tc.item)
			if got := responseVersion(resp); got != tc.v {
				t.Fatalf("response version %v, want %v", got, tc.v)
			}
			st, reason := status(t, items(resp)[0])
			if st != tc.wantStatus || reason != tc.wantReason {
				t.Fatalf("got %v %v, want %v %v", st, ttlv.EnumStr(reason), tc.wantStatus, ttlv.EnumStr(tc.wantReason))
			}
		})
	}
}

func TestV2SetAttribute(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-set")
	set := func(attr ttlv.Value) ttlv.Value {
		return item2(kmip2.OperationSetAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{attr}})
	}
	description := func(s string) ttlv.Value { return ttlv.Value{Tag: kmip.TagDescription, Value: s} }
	tests := []struct {
		name       string
		v          kmip.ProtocolVersion
		item       ttlv.Value
		wantReason kmip.ResultReason // zero: success
		wantDesc   string
	}{
		{"adds an absent attribute", kmip.V2_1, set(description("first")), 0, "first"},
		{"replaces a present attribute", kmip.V2_1, set(description("second")), 0, "second"},
		{"adds a first group", kmip.V2_1, set(ttlv.Value{Tag: kmip.TagObjectGroup, Value: "g1"}), 0, "second"},
		{"replaces the only group", kmip.V2_1, set(ttlv.Value{Tag: kmip.TagObjectGroup, Value: "g2"}), 0, "second"},
		{"add attribute gives a second group", kmip.V2_1, item2(kmip.OperationAddAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{{Tag: kmip.TagObjectGroup, Value: "g3"}}}), 0, "second"},
		{"refuses an attribute with several instances", kmip.V2_1, set(ttlv.Value{Tag: kmip.TagObjectGroup, Value: "g4"}),
			kmip2.ResultReasonMultiValuedAttribute, "second"},
		{"is not offered to 1.4", kmip.V1_4, item2(kmip2.OperationSetAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip.TagAttribute, Value: ttlv.Struct{
				{Tag: kmip.TagAttributeName, Value: "Description"},
				{Tag: kmip.TagAttributeValue, Value: "third"},
			}}),
			kmip.ResultReasonOperationNotSupported, "second"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, reason := status(t, items(send2(t, r, tc.v, tc.item))[0])
			if tc.wantReason == 0 && st != kmip.ResultStatusSuccess || reason != tc.wantReason {
				t.Fatalf("got %v %v, want reason %v", st, ttlv.EnumStr(reason), ttlv.EnumStr(tc.wantReason))
			}
			resp := send2(t, r, kmip.V2_1, item2(kmip.OperationGetAttributes,
				ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
				ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagDescription)}))
			attrs := sub(find(sub(find(items(resp)[0], kmip.TagResponsePayload)), kmip2.TagAttributes))
			if got := text(attrs, kmip.TagDescription); got != tc.wantDesc {
				t.Fatalf("description %q, want %q", got, tc.wantDesc)
			}
		})
	}
}

func TestV2Refusals(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-refusals")
	tests := []struct {
		name        string
		v           kmip.ProtocolVersion
		item        ttlv.Value
		wantVersion kmip.ProtocolVersion
		wantReason  kmip.ResultReason
	}{
		{"2.2 is not spoken", kmip.V2_2, item2(kmip.OperationQuery), kmip.V2_1, kmip2.ResultReasonUnsupportedProtocolVersion},
		{"a derived attribute cannot be deleted", kmip.V2_0, item2(kmip.OperationDeleteAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip2.TagShortUniqueIdentifier)}),
			kmip.V2_0, kmip2.ResultReasonAttributeReadOnly},
		{"current attribute with no such instance", kmip.V2_1, item2(kmip.OperationModifyAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip2.TagCurrentAttribute, Value: ttlv.Struct{{Tag: kmip.TagDescription, Value: "a"}}},
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{{Tag: kmip.TagDescription, Value: "b"}}}),
			kmip.V2_1, kmip2.ResultReasonAttributeInstanceNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := send2(t, r, tc.v, tc.item)
			if got := responseVersion(resp); got != tc.wantVersion {
				t.Fatalf("response version %v, want %v", got, tc.wantVersion)
			}
			st, reason := status(t, items(resp)[0])
			if st != kmip.ResultStatusOperationFailed || reason != tc.wantReason {
				t.Fatalf("got %v %v, want failure %v", st, ttlv.EnumStr(reason), ttlv.EnumStr(tc.wantReason))
			}
		})
	}
}

// TestV2CurrentAttribute: Modify and Delete Attribute pick the instance of
// a multi-valued attribute by its Current Attribute value.
func TestV2CurrentAttribute(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-current")
	group := func(g string) ttlv.Struct { return ttlv.Struct{{Tag: kmip.TagObjectGroup, Value: g}} }
	uid := ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}
	steps := []struct {
		name       string
		item       ttlv.Value
		wantGroups []string
	}{
		{"add g1", item2(kmip.OperationAddAttribute, uid, ttlv.Value{Tag: kmip2.TagNewAttribute, Value: group("g1")}), []string{"g1"}},
		{"add g2", item2(kmip.OperationAddAttribute, uid, ttlv.Value{Tag: kmip2.TagNewAttribute, Value: group("g2")}), []string{"g1", "g2"}},
		{"modify g2 to g9", item2(kmip.OperationModifyAttribute, uid,
			ttlv.Value{Tag: kmip2.TagCurrentAttribute, Value: group("g2")},
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: group("g9")}), []string{"g1", "g9"}},
		{"delete g1", item2(kmip.OperationDeleteAttribute, uid,
			ttlv.Value{Tag: kmip2.TagCurrentAttribute, Value: group("g1")}), []string{"g9"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if st, reason := status(t, items(send2(t, r, kmip.V2_1, s.item))[0]); st != kmip.ResultStatusSuccess {
				t.Fatalf("got %v %v", st, ttlv.EnumStr(reason))
			}
			resp := send2(t, r, kmip.V2_1, item2(kmip.OperationGetAttributes, uid,
				ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagObjectGroup)}))
			var got []string
			for _, a := range sub(find(sub(find(items(resp)[0], kmip.TagResponsePayload)), kmip2.TagAttributes)) {
				g, _ := a.Value.(string)
				got = append(got, g)
			}
			slices.Sort(got)
			if !slices.Equal(got, s.wantGroups) {
				t.Fatalf("groups %v, want %v", got, s.wantGroups)
			}
		})
	}
}
