package kmip2

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestCertifyRequestTranslation(t *testing.T) {
	csr := []byte{0x30, 0x03, 0x02, 0x01, 0x00}
	name := ttlv.Value{Tag: kmip.TagName, Value: ttlv.Struct{
		{Tag: kmip.TagNameValue, Value: "cert"},
		{Tag: kmip.TagNameType, Value: ttlv.Enum(kmip.NameTypeUninterpretedTextString)},
	}}
	id := ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: "pub-1"}
	reqType := ttlv.Value{Tag: kmip.TagCertificateRequestType, Value: ttlv.Enum(kmip.CertificateRequestTypePKCS_10)}
	value := ttlv.Value{Tag: TagCertificateRequestValue, Value: csr}
	attrs := ttlv.Value{Tag: TagAttributes, Value: ttlv.Struct{name}}
	// 1.x order: Unique Identifier, Certificate Request Type, Certificate
	// Request, (Offset,) Template-Attribute.
	wantTags := func(tags ...int) func(t *testing.T, p ttlv.Struct) {
		return func(t *testing.T, p ttlv.Struct) {
			if len(p) != len(tags) {
				t.Fatalf("payload %v, want %d items", p, len(tags))
			}
			for i, tag := range tags {
				if p[i].Tag != tag {
					t.Fatalf("item %d is %s, want %s", i, ttlv.TagString(p[i].Tag), ttlv.TagString(tag))
				}
			}
			if b, _ := child(p, kmip.TagCertificateRequest).Value.([]byte); !bytes.Equal(b, csr) {
				t.Fatal("certificate request value lost")
			}
			tpl := structOf(child(p, kmip.TagTemplateAttribute))
			if len(tpl) != 1 || text(structOf(&tpl[0]), kmip.TagAttributeName) != "Name" {
				t.Fatalf("template %v", tpl)
			}
		}
	}
	tests := []struct {
		name    string
		msg     []byte
		check   func(t *testing.T, p ttlv.Struct)
		wantErr error
	}{
		{"certify", request(kmip.V2_1, kmip.OperationCertify, id, reqType, value, attrs),
			wantTags(kmip.TagUniqueIdentifier, kmip.TagCertificateRequestType, kmip.TagCertificateRequest, kmip.TagTemplateAttribute), nil},
		{"re-certify with offset", request(kmip.V2_0, kmip.OperationReCertify, id, reqType, value,
			ttlv.Value{Tag: kmip.TagOffset, Value: time.Hour}, attrs),
			wantTags(kmip.TagUniqueIdentifier, kmip.TagCertificateRequestType, kmip.TagCertificateRequest, kmip.TagOffset, kmip.TagTemplateAttribute), nil},
		{"stored certificate request refused", request(kmip.V2_1, kmip.OperationCertify,
			ttlv.Value{Tag: TagCertificateRequestUniqueIdentifier, Value: "csr-1"}, attrs),
			nil, ErrNotSupported},
		{"hardware-only storage mask refused", request(kmip.V2_1, kmip.OperationCertify, id, reqType, value, attrs,
			ttlv.Value{Tag: TagProtectionStorageMasks, Value: ttlv.Struct{{Tag: TagProtectionStorageMask, Value: int32(2)}}}),
			nil, ErrNotSupported},
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
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}
