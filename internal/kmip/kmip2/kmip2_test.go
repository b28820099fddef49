package kmip2

import (
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func header(v kmip.ProtocolVersion) ttlv.Value {
	return ttlv.Value{Tag: kmip.TagRequestHeader, Value: ttlv.Struct{
		{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersionMajor, Value: v.ProtocolVersionMajor},
			{Tag: kmip.TagProtocolVersionMinor, Value: v.ProtocolVersionMinor},
		}},
		{Tag: kmip.TagBatchCount, Value: int32(1)},
	}}
}

func request(v kmip.ProtocolVersion, op kmip.Operation, payload ...ttlv.Value) []byte {
	return ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{
		header(v),
		{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
			{Tag: kmip.TagOperation, Value: ttlv.Enum(op)},
			{Tag: kmip.TagRequestPayload, Value: ttlv.Struct(payload)},
		}},
	}})
}

func TestPeekVersion(t *testing.T) {
	good := request(kmip.V2_1, kmip.OperationQuery)
	notRequest := ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagResponseMessage, Value: ttlv.Struct{header(kmip.V2_1)}})
	tests := []struct {
		name   string
		msg    []byte
		want   kmip.ProtocolVersion
		wantOK bool
	}{
		{"2.1", good, kmip.V2_1, true},
		{"1.4", request(kmip.V1_4, kmip.OperationQuery), kmip.V1_4, true},
		{"truncated", good[:40], kmip.ProtocolVersion{}, false},
		{"response message", notRequest, kmip.ProtocolVersion{}, false},
		{"empty", nil, kmip.ProtocolVersion{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PeekVersion(tc.msg)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Fatalf("PeekVersion = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestAttributeTags: every 1.x attribute 2.x keeps has a 2.x tag, and the
// tables are inverse.
func TestAttributeTags(t *testing.T) {
	for _, name := range attrNames1 {
		t.Run(string(name), func(t *testing.T) {
			tag, ok := AttrTag(name)
			if !ok {
				t.Fatalf("no 2.x tag for %q", name)
			}
			back, ok := AttrName(tag)
			if !ok || back != name {
				t.Fatalf("AttrName(%s) = %q, %v", ttlv.TagString(tag), back, ok)
			}
		})
	}
	if tag, _ := AttrTag(kmip.AttributeNameX509CertificateIdentifier); tag != kmip.TagX_509CertificateIdentifier {
		t.Fatalf("X.509 Certificate Identifier maps to %s", ttlv.TagString(tag))
	}
	if tag, _ := AttrTag(AttrShortUniqueIdentifier); tag != TagShortUniqueIdentifier {
		t.Fatalf("Short Unique Identifier maps to %s", ttlv.TagString(tag))
	}
}

// decoded translates a request and returns its first batch item's payload.
func decoded(t *testing.T, msg []byte) (ttlv.Struct, *Translation, error) {
	t.Helper()
	out, tr, err := Request(msg)
	if err != nil {
		return nil, tr, err
	}
	if _, err := tr.Failed(0); err != nil {
		return nil, tr, err
	}
	if v, ok := PeekVersion(out); !ok || v != kmip.V1_4 {
		t.Fatalf("translated version %v, %v; want 1.4", v, ok)
	}
	var m ttlv.Value
	if err := ttlv.UnmarshalTTLV(out, &m); err != nil {
		t.Fatal(err)
	}
	return structOf(child(structOf(child(structOf(&m), kmip.TagBatchItem)), kmip.TagRequestPayload)), tr, nil
}

func TestRequestTranslation(t *testing.T) {
	name := ttlv.Value{Tag: kmip.TagName, Value: ttlv.Struct{
		{Tag: kmip.TagNameValue, Value: "k"},
		{Tag: kmip.TagNameType, Value: ttlv.Enum(kmip.NameTypeUninterpretedTextString)},
	}}
	vendor := ttlv.Value{Tag: kmip.TagAttribute, Value: ttlv.Struct{
		{Tag: kmip.TagVendorIdentification, Value: "x"},
		{Tag: kmip.TagAttributeName, Value: "ID"},
		{Tag: kmip.TagAttributeValue, Value: "1"},
	}}
	objType := ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)}
	tests := []struct {
		name    string
		msg     []byte
		check   func(t *testing.T, p ttlv.Struct)
		wantErr error
	}{
		{"create attributes become a template", request(kmip.V2_1, kmip.OperationCreate, objType,
			ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{name, vendor}}),
			func(t *testing.T, p ttlv.Struct) {
				tpl := structOf(child(p, kmip.TagTemplateAttribute))
				if len(tpl) != 2 || text(structOf(&tpl[0]), kmip.TagAttributeName) != "Name" ||
					text(structOf(&tpl[1]), kmip.TagAttributeName) != "x-ID" {
					t.Fatalf("template %v", tpl)
				}
			}, nil},
		{"software storage mask accepted", request(kmip.V2_1, kmip.OperationCreate, objType,
			ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{name}},
			ttlv.Value{Tag: TagProtectionStorageMasks, Value: ttlv.Struct{{Tag: TagProtectionStorageMask, Value: int32(3)}}}),
			func(t *testing.T, p ttlv.Struct) {
				if child(p, TagProtectionStorageMasks) != nil {
					t.Fatal("masks passed to the 1.x handler")
				}
			}, nil},
		{"hardware-only storage mask refused", request(kmip.V2_1, kmip.OperationCreate, objType,
			ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{name}},
			ttlv.Value{Tag: TagProtectionStorageMasks, Value: ttlv.Struct{{Tag: TagProtectionStorageMask, Value: int32(2)}}}),
			nil, ErrNotSupported},
		{"locate attributes are inlined", request(kmip.V2_1, kmip.OperationLocate,
			ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{name}}),
			func(t *testing.T, p ttlv.Struct) {
				if len(p) != 1 || p[0].Tag != kmip.TagAttribute {
					t.Fatalf("locate payload %v", p)
				}
			}, nil},
		{"get attributes references become names", request(kmip.V2_1, kmip.OperationGetAttributes,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "1"},
			ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Enum(kmip.TagState)},
			ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Enum(TagShortUniqueIdentifier)}),
			func(t *testing.T, p ttlv.Struct) {
				if len(p) != 2 || text(p, kmip.TagAttributeName) != "State" {
					t.Fatalf("get attributes payload %v", p)
				}
			}, nil},
		{"new attribute becomes an attribute", request(kmip.V2_1, kmip.OperationAddAttribute,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "1"},
			ttlv.Value{Tag: TagNewAttribute, Value: ttlv.Struct{vendor}}),
			func(t *testing.T, p ttlv.Struct) {
				if text(structOf(child(p, kmip.TagAttribute)), kmip.TagAttributeName) != "x-ID" {
					t.Fatalf("add attribute payload %v", p)
				}
			}, nil},
		{"current attribute kept for the server", request(kmip.V2_1, kmip.OperationModifyAttribute,
			ttlv.Value{Tag: TagCurrentAttribute, Value: ttlv.Struct{name}},
			ttlv.Value{Tag: TagNewAttribute, Value: ttlv.Struct{name}}),
			func(t *testing.T, p ttlv.Struct) {
				if len(p) != 1 || p[0].Tag != kmip.TagAttribute {
					t.Fatalf("modify payload %v", p)
				}
			}, nil},
		{"current and new attribute differ", request(kmip.V2_1, kmip.OperationModifyAttribute,
			ttlv.Value{Tag: TagCurrentAttribute, Value: ttlv.Struct{name}},
			ttlv.Value{Tag: TagNewAttribute, Value: ttlv.Struct{vendor}}),
			nil, ErrMalformed},
		{"unknown attribute refused", request(kmip.V2_1, kmip.OperationCreate, objType,
			ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{{Tag: 0x420145, Value: ttlv.Enum(1)}}}),
			nil, ErrUnsupportedAttribute},
		{"not a message", []byte{1, 2, 3}, nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := decoded(t, tc.msg)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

func response(items ...ttlv.Value) []byte {
	return ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagResponseMessage, Value: append(ttlv.Struct{
		{Tag: kmip.TagResponseHeader, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
				{Tag: kmip.TagProtocolVersionMajor, Value: int32(1)},
				{Tag: kmip.TagProtocolVersionMinor, Value: int32(4)},
			}},
			{Tag: kmip.TagBatchCount, Value: int32(len(items))},
		}},
	}, items...)})
}

func respItem(op kmip.Operation, reason kmip.ResultReason, payload ...ttlv.Value) ttlv.Value {
	s := ttlv.Struct{{Tag: kmip.TagOperation, Value: ttlv.Enum(op)}}
	if reason != 0 {
		s = append(s, ttlv.Value{Tag: kmip.TagResultStatus, Value: ttlv.Enum(kmip.ResultStatusOperationFailed)},
			ttlv.Value{Tag: kmip.TagResultReason, Value: ttlv.Enum(reason)})
	} else {
		s = append(s, ttlv.Value{Tag: kmip.TagResultStatus, Value: ttlv.Enum(kmip.ResultStatusSuccess)},
			ttlv.Value{Tag: kmip.TagResponsePayload, Value: ttlv.Struct(payload)})
	}
	return ttlv.Value{Tag: kmip.TagBatchItem, Value: s}
}

func TestResponseTranslation(t *testing.T) {
	uid := ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "1"}
	state := attr1(kmip.AttributeNameState, ttlv.Enum(kmip.StateActive))
	custom := attr1("x-ID", "7")
	certID := attr1(kmip.AttributeNameCertificateIdentifier, ttlv.Struct{{Tag: kmip.TagIssuer, Value: "i"}})
	tests := []struct {
		name    string
		req     []byte
		resp    []byte
		reasons []kmip.ResultReason
		check   func(t *testing.T, items []ttlv.Struct)
	}{
		{"get attributes: one attributes structure, referenced only",
			request(kmip.V2_1, kmip.OperationGetAttributes, uid,
				ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Enum(kmip.TagState)}),
			response(respItem(kmip.OperationGetAttributes, 0, uid, state, custom, certID)), nil,
			func(t *testing.T, items []ttlv.Struct) {
				p := structOf(child(items[0], kmip.TagResponsePayload))
				attrs := structOf(child(p, TagAttributes))
				if len(p) != 2 || len(attrs) != 1 || attrs[0].Tag != kmip.TagState {
					t.Fatalf("payload %v", p)
				}
			}},
		{"get attributes: all, vendor form, 1.x-only dropped",
			request(kmip.V2_1, kmip.OperationGetAttributes, uid),
			response(respItem(kmip.OperationGetAttributes, 0, uid, state, custom, certID)), nil,
			func(t *testing.T, items []ttlv.Struct) {
				attrs := structOf(child(structOf(child(items[0], kmip.TagResponsePayload)), TagAttributes))
				if len(attrs) != 2 || text(structOf(child(attrs, kmip.TagAttribute)), kmip.TagVendorIdentification) != "x" {
					t.Fatalf("attributes %v", attrs)
				}
			}},
		{"get attribute list: references",
			request(kmip.V2_1, kmip.OperationGetAttributeList, uid),
			response(respItem(kmip.OperationGetAttributeList, 0, uid,
				ttlv.Value{Tag: kmip.TagAttributeName, Value: "State"},
				ttlv.Value{Tag: kmip.TagAttributeName, Value: "x-ID"})), nil,
			func(t *testing.T, items []ttlv.Struct) {
				p := structOf(child(items[0], kmip.TagResponsePayload))
				if len(p) != 3 || p[1].Value != ttlv.Enum(kmip.TagState) || text(structOf(&p[2]), kmip.TagAttributeName) != "ID" {
					t.Fatalf("payload %v", p)
				}
			}},
		{"add attribute: unique identifier only",
			request(kmip.V2_1, kmip.OperationAddAttribute, uid, ttlv.Value{Tag: TagNewAttribute, Value: ttlv.Struct{{Tag: kmip.TagDescription, Value: "d"}}}),
			response(respItem(kmip.OperationAddAttribute, 0, uid, attr1(kmip.AttributeNameDescription, "d"))), nil,
			func(t *testing.T, items []ttlv.Struct) {
				if p := structOf(child(items[0], kmip.TagResponsePayload)); len(p) != 1 || p[0].Tag != kmip.TagUniqueIdentifier {
					t.Fatalf("payload %v", p)
				}
			}},
		{"2.x reason replaces the 1.x one",
			request(kmip.V2_1, kmip.OperationGet, uid),
			response(respItem(kmip.OperationGet, kmip.ResultReasonItemNotFound)), []kmip.ResultReason{ResultReasonObjectNotFound},
			func(t *testing.T, items []ttlv.Struct) {
				if r := child(items[0], kmip.TagResultReason); r == nil || r.Value != ttlv.Enum(ResultReasonObjectNotFound) {
					t.Fatalf("item %v", items[0])
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, tr, err := Request(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Response(tc.resp, tr, kmip.V2_1, tc.reasons)
			if err != nil {
				t.Fatal(err)
			}
			var m ttlv.Value
			if err := ttlv.UnmarshalTTLV(out, &m); err != nil {
				t.Fatal(err)
			}
			root := structOf(&m)
			pv := structOf(child(structOf(child(root, kmip.TagResponseHeader)), kmip.TagProtocolVersion))
			if child(pv, kmip.TagProtocolVersionMajor).Value != int32(2) || child(pv, kmip.TagProtocolVersionMinor).Value != int32(1) {
				t.Fatalf("header version %v", pv)
			}
			var items []ttlv.Struct
			for i := range root {
				if root[i].Tag == kmip.TagBatchItem {
					items = append(items, structOf(&root[i]))
				}
			}
			tc.check(t, items)
		})
	}
}
