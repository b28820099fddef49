package kmip

import (
	"bytes"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// templateLocate is FortiOS's Locate payload: the filter inside a Template
// Attribute.
type templateLocate struct {
	MaximumItems      int32 `ttlv:",omitempty"`
	TemplateAttribute kmip.TemplateAttribute
}

func (*templateLocate) Operation() kmip.Operation { return kmip.OperationLocate }

// templateCreate is a Create payload, where a Template Attribute belongs.
type templateCreate = payloads.CreateRequestPayload

func TestRewriteLocateTemplates(t *testing.T) {
	name := kmip.Name{NameValue: "fgt-enc-in", NameType: kmip.NameTypeUninterpretedTextString}
	nameAttr := kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: name}
	typeAttr := kmip.Attribute{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey}
	msg := func(pls ...kmip.OperationPayload) []byte {
		m := kmip.NewRequestMessage(kmip.V1_2, pls...)
		return ttlv.MarshalTTLV(&m)
	}
	create := &templateCreate{ObjectType: kmip.ObjectTypeSymmetricKey, TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{typeAttr}}}
	plain := msg(&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{typeAttr}})

	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{
			name: "attributes in a template",
			in:   msg(&templateLocate{MaximumItems: 1, TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{nameAttr, typeAttr}}}),
			want: msg(&payloads.LocateRequestPayload{MaximumItems: 1, Attribute: []kmip.Attribute{nameAttr, typeAttr}}),
		},
		{
			name: "a 1.0 template Name",
			in:   msg(&templateLocate{TemplateAttribute: kmip.TemplateAttribute{Name: []kmip.Name{name}, Attribute: []kmip.Attribute{typeAttr}}}),
			want: msg(&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{nameAttr, typeAttr}}),
		},
		{
			name: "second item of a batch",
			in:   msg(create, &templateLocate{TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{typeAttr}}}),
			want: msg(create, &payloads.LocateRequestPayload{Attribute: []kmip.Attribute{typeAttr}}),
		},
		{name: "standard locate unchanged", in: plain, want: plain},
		{name: "create unchanged", in: msg(create), want: msg(create)},
		{name: "truncated unchanged", in: plain[:len(plain)-8], want: plain[:len(plain)-8]},
		{name: "empty", in: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := rewriteLocateTemplates(bytes.Clone(tc.in))
			if !bytes.Equal(got, tc.want) {
				t.Errorf("rewrite:\n got %x\nwant %x", got, tc.want)
			}
			if len(tc.want) == 0 || bytes.Equal(tc.in, tc.want) {
				return
			}
			var m kmip.RequestMessage
			if err := ttlv.UnmarshalTTLV(got, &m); err != nil {
				t.Fatalf("rewritten message does not decode: %v", err)
			}
		})
	}
}
