package kmiphttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// create21XML and create21JSON are a 2.1 Create as the KMIP XML and JSON
// encodings write it, the usage mask by its names (the 2.1 test vectors'
// form).
const create21XML = `<RequestMessage><RequestHeader><ProtocolVersion>
<ProtocolVersionMajor type="Integer" value="2"/><ProtocolVersionMinor type="Integer" value="1"/>
</ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader>
<BatchItem><Operation type="Enumeration" value="Create"/><RequestPayload>
<ObjectType type="Enumeration" value="SymmetricKey"/><Attributes>
<CryptographicAlgorithm type="Enumeration" value="AES"/>
<CryptographicLength type="Integer" value="128"/>
<CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
</Attributes></RequestPayload></BatchItem></RequestMessage>`

const create21JSON = `{"tag": "RequestMessage", "value": [
{"tag": "RequestHeader", "value": [
  {"tag": "ProtocolVersion", "value": [
    {"tag": "ProtocolVersionMajor", "type": "Integer", "value": 2},
    {"tag": "ProtocolVersionMinor", "type": "Integer", "value": 1}]},
  {"tag": "BatchCount", "type": "Integer", "value": 1}]},
{"tag": "BatchItem", "value": [
  {"tag": "Operation", "type": "Enumeration", "value": "Create"},
  {"tag": "RequestPayload", "value": [
    {"tag": "ObjectType", "type": "Enumeration", "value": "SymmetricKey"},
    {"tag": "Attributes", "value": [
      {"tag": "CryptographicAlgorithm", "type": "Enumeration", "value": "AES"},
      {"tag": "CryptographicLength", "type": "Integer", "value": 128},
      {"tag": "CryptographicUsageMask", "type": "Integer", "value": "Encrypt|Decrypt"}]}]}]}]}`

// TestMaskNames2: a 2.x request in XML or JSON whose mask is written by
// its names is decoded with its 2.x fields, and the mask is the one named.
func TestMaskNames2(t *testing.T) {
	f := start(t)
	for _, tc := range []struct {
		name, contentType, body string
		decode                  func([]byte, any) error
	}{
		{"XML", ContentTypeXML, create21XML, ttlv.UnmarshalXML},
		{"JSON", ContentTypeJSON, create21JSON, ttlv.UnmarshalJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, f.client, tc.contentType, []byte(tc.body))
			var out ttlv.Value
			if err := tc.decode(body, &out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, decode %v:\n%s", resp.StatusCode, err, body)
			}
			item := structure(field(structure(&out), kmip.TagBatchItem))
			if st, _ := field(item, kmip.TagResultStatus).Value.(ttlv.Enum); kmip.ResultStatus(st) != kmip.ResultStatusSuccess {
				t.Fatalf("create failed:\n%s", body)
			}
			id, _ := field(structure(field(item, kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string)
			get := request21(false, kmip.OperationGetAttributes,
				ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
				ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(kmip.TagCryptographicUsageMask)})
			_, body = f.post(t, f.client, ContentTypeTTLV, ttlv.MarshalTTLV(get))
			if err := ttlv.UnmarshalTTLV(body, &out); err != nil {
				t.Fatal(err)
			}
			attrs := structure(field(structure(field(structure(field(structure(&out), kmip.TagBatchItem)), kmip.TagResponsePayload)), kmip2.TagAttributes))
			mask := field(attrs, kmip.TagCryptographicUsageMask)
			if want := int32(kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt); mask == nil || mask.Value != want {
				t.Fatalf("usage mask %v, want %d", mask, want)
			}
		})
	}
	t.Run("a bad integer is refused, not zero", func(t *testing.T) {
		bad := strings.Replace(create21XML, `value="Encrypt Decrypt"`, `value="Encrypt Frobnicate"`, 1)
		if _, ok := text2(ttlv.UnmarshalXML, []byte(bad)); ok {
			t.Fatal("an unknown mask name was decoded")
		}
	})
	t.Run("a 1.x request is left to the typed decoder", func(t *testing.T) {
		v1 := strings.Replace(create21XML, `<ProtocolVersionMajor type="Integer" value="2"/>`, `<ProtocolVersionMajor type="Integer" value="1"/>`, 1)
		if _, ok := text2(ttlv.UnmarshalXML, []byte(v1)); ok {
			t.Fatal("a 1.x request went through the 2.x decoding")
		}
	})
}
