package kmiphttp

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// request21 is a KMIP 2.1 request message with one batch item.
func request21(async bool, op kmip.Operation, payload ...ttlv.Value) ttlv.Value {
	h := ttlv.Struct{{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
		{Tag: kmip.TagProtocolVersionMajor, Value: int32(2)},
		{Tag: kmip.TagProtocolVersionMinor, Value: int32(1)},
	}}}
	if async {
		h = append(h, ttlv.Value{Tag: kmip.TagAsynchronousIndicator, Value: true})
	}
	h = append(h, ttlv.Value{Tag: kmip.TagBatchCount, Value: int32(1)})
	return ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{
		{Tag: kmip.TagRequestHeader, Value: h},
		{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
			{Tag: kmip.TagOperation, Value: ttlv.Enum(op)},
			{Tag: kmip.TagRequestPayload, Value: ttlv.Struct(payload)},
		}},
	}}
}

// create21 is a 2.1 Create of an AES key, with the 2.x Attributes.
func create21(async bool) ttlv.Value {
	return request21(async, kmip.OperationCreate,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
			{Tag: kmip.TagCryptographicLength, Value: int32(256)},
			{Tag: kmip.TagCryptographicUsageMask, Value: int32(kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt)},
		}})
}

// field returns the first item with the tag, or nil.
func field(s ttlv.Struct, tag int) *ttlv.Value {
	for i := range s {
		if s[i].Tag == tag {
			return &s[i]
		}
	}
	return nil
}

func structure(v *ttlv.Value) ttlv.Struct {
	if v == nil {
		return nil
	}
	s, _ := v.Value.(ttlv.Struct)
	return s
}

// TestOperationPending2: a KMIP 2.1 asynchronous request over HTTPS is
// answered Operation Pending in every encoding, and a 2.1 Poll in the same
// encoding returns the result, in 2.1.
func TestOperationPending2(t *testing.T) {
	f := start(t)
	tests := []struct {
		name        string
		contentType string
		encode      func(any) []byte
		decode      func([]byte, any) error
	}{
		{"TTLV", ContentTypeTTLV, ttlv.MarshalTTLV, ttlv.UnmarshalTTLV},
		{"XML", ContentTypeXML, ttlv.MarshalXML, ttlv.UnmarshalXML},
		{"JSON", ContentTypeJSON, ttlv.MarshalJSON, ttlv.UnmarshalJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exchange := func(t *testing.T, msg ttlv.Value) (ttlv.Struct, []byte) {
				t.Helper()
				resp, body := f.post(t, f.client, tc.contentType, tc.encode(msg))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				var out ttlv.Value
				if err := tc.decode(body, &out); err != nil {
					t.Fatalf("decode: %v\n%s", err, body)
				}
				root := structure(&out)
				pv := structure(field(structure(field(root, kmip.TagResponseHeader)), kmip.TagProtocolVersion))
				if maj := field(pv, kmip.TagProtocolVersionMajor); maj == nil || maj.Value != int32(2) {
					t.Fatalf("response is not 2.x:\n%s", body)
				}
				return structure(field(root, kmip.TagBatchItem)), body
			}
			enumOf := func(it ttlv.Struct, tag int) uint32 {
				if v := field(it, tag); v != nil {
					e, _ := v.Value.(ttlv.Enum)
					return uint32(e)
				}
				return 0
			}

			item, body := exchange(t, create21(true))
			if kmip.ResultStatus(enumOf(item, kmip.TagResultStatus)) != kmip.ResultStatusOperationPending {
				t.Fatalf("not pending:\n%s", body)
			}
			for _, tag := range []int{kmip.TagResultReason, kmip.TagResponsePayload} {
				if field(item, tag) != nil {
					t.Fatalf("pending item carries %s:\n%s", ttlv.TagString(tag), body)
				}
			}
			cv, _ := field(item, kmip.TagAsynchronousCorrelationValue).Value.([]byte)
			if len(cv) == 0 {
				t.Fatalf("no correlation value:\n%s", body)
			}

			poll := func(cv []byte) ttlv.Value {
				return request21(false, kmip.OperationPoll, ttlv.Value{Tag: kmip.TagAsynchronousCorrelationValue, Value: cv})
			}
			item, body = exchange(t, poll(cv))
			if kmip.Operation(enumOf(item, kmip.TagOperation)) != kmip.OperationCreate ||
				kmip.ResultStatus(enumOf(item, kmip.TagResultStatus)) != kmip.ResultStatusSuccess {
				t.Fatalf("poll does not return the created key:\n%s", body)
			}
			if id, _ := field(structure(field(item, kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string); id == "" {
				t.Fatalf("no unique identifier:\n%s", body)
			}

			item, body = exchange(t, poll(cv))
			if kmip.ResultReason(enumOf(item, kmip.TagResultReason)) != kmip2.ResultReasonInvalidAsynchronousCorrelationValue {
				t.Fatalf("second poll:\n%s", body)
			}
			if tc.name != "TTLV" && !bytes.Contains(body, []byte("InvalidAsynchronousCorrelationValue")) {
				t.Errorf("the 2.x reason is not named:\n%s", body)
			}
		})
	}
}

// TestQueryProfiles2: a 2.1 Query Profiles over HTTPS names the 2.x
// profiles with their Profile Version, in XML and JSON.
func TestQueryProfiles2(t *testing.T) {
	f := start(t)
	msg := request21(false, kmip.OperationQuery, ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(kmip.QueryFunctionProfiles)})
	for _, tc := range []struct {
		name        string
		contentType string
		encode      func(any) []byte
	}{
		{"XML", ContentTypeXML, ttlv.MarshalXML},
		{"JSON", ContentTypeJSON, ttlv.MarshalJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, f.client, tc.contentType, tc.encode(msg))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for _, want := range []string{"BaselineServer", "TapeLibraryServer", "ProfileVersionMajor", "ProfileVersionMinor"} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("answer lacks %s:\n%s", want, body)
				}
			}
		})
	}
}

// TestFields2: the fields only 2.x defines survive the XML and JSON
// decoding of a request: a Get Attributes naming one Attribute Reference
// answers that attribute only.
func TestFields2(t *testing.T) {
	f := start(t)
	resp, body := f.post(t, f.client, ContentTypeTTLV, ttlv.MarshalTTLV(create21(false)))
	var created ttlv.Value
	if err := ttlv.UnmarshalTTLV(body, &created); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %v", resp.StatusCode, err)
	}
	id, _ := field(structure(field(structure(field(structure(&created), kmip.TagBatchItem)), kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string)
	if id == "" {
		t.Fatal("create: no unique identifier")
	}
	msg := request21(false, kmip.OperationGetAttributes,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
		ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagCryptographicLength)})
	for _, tc := range []struct {
		name        string
		contentType string
		encode      func(any) []byte
		decode      func([]byte, any) error
	}{
		{"XML", ContentTypeXML, ttlv.MarshalXML, ttlv.UnmarshalXML},
		{"JSON", ContentTypeJSON, ttlv.MarshalJSON, ttlv.UnmarshalJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, f.client, tc.contentType, tc.encode(msg))
			var out ttlv.Value
			if err := tc.decode(body, &out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, decode %v:\n%s", resp.StatusCode, err, body)
			}
			attrs := structure(field(structure(field(structure(field(structure(&out), kmip.TagBatchItem)), kmip.TagResponsePayload)), kmip2.TagAttributes))
			if len(attrs) != 1 || attrs[0].Tag != kmip.TagCryptographicLength {
				t.Fatalf("answer holds %d attributes, want the Cryptographic Length only:\n%s", len(attrs), body)
			}
		})
	}
}
