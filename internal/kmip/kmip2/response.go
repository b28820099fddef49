package kmip2

import (
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Response rewrites the 1.4 TTLV response message answering a translated
// request as the 2.x message the client expects. reasons, when not zero,
// replace the Result Reason of the batch item at the same index (the 2.x
// reasons are finer than the 1.x ones). A nil Translation (the request
// could not be read) rewrites the header only.
func Response(msg []byte, t *Translation, v kmip.ProtocolVersion, reasons []kmip.ResultReason) ([]byte, error) {
	var m ttlv.Value
	if err := ttlv.UnmarshalTTLV(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: response: %w", ErrMalformed, err)
	}
	root := structOf(&m)
	header := structOf(child(root, kmip.TagResponseHeader))
	if m.Tag != kmip.TagResponseMessage || header == nil {
		return nil, fmt.Errorf("%w: not a response message", ErrMalformed)
	}
	if err := setVersion(header, v); err != nil {
		return nil, err
	}
	n := 0
	for i := range root {
		if root[i].Tag != kmip.TagBatchItem {
			continue
		}
		item := structOf(&root[i])
		if n < len(reasons) && reasons[n] != 0 {
			if r := child(item, kmip.TagResultReason); r != nil {
				r.Value = ttlv.Enum(reasons[n])
			}
		}
		var st itemState
		if t != nil && n < len(t.items) {
			st = t.items[n]
		}
		n++
		p := child(item, kmip.TagResponsePayload)
		if p == nil {
			continue
		}
		if st.ephemeral {
			// Its output stays in the server (chain.go).
			p.Value = ttlv.Struct{}
			continue
		}
		p.Value = responsePayload(structOf(p), st)
	}
	return ttlv.MarshalTTLV(m), nil
}

// responsePayload rewrites one response payload by its operation.
func responsePayload(p ttlv.Struct, st itemState) ttlv.Struct {
	switch st.op {
	case kmip.OperationGetAttributes:
		return getAttributesResponse(p, st)
	case kmip.OperationGetAttributeList:
		out := make(ttlv.Struct, 0, len(p))
		for _, v := range p {
			if v.Tag != kmip.TagAttributeName {
				out = append(out, v)
				continue
			}
			name, _ := v.Value.(string)
			if ref, ok := refTo2(kmip.AttributeName(name)); ok {
				out = append(out, ref)
			}
		}
		return out
	case kmip.OperationAddAttribute, kmip.OperationModifyAttribute, kmip.OperationDeleteAttribute, OperationSetAttribute,
		OperationAdjustAttribute:
		// 2.x answers the Unique Identifier only.
		return keep(p, kmip.TagUniqueIdentifier)
	case kmip.OperationQuery:
		return queryResponse(p) // query.go
	}
	// 2.x dropped the Template-Attribute that 1.x servers may return.
	return drop(p, kmip.TagTemplateAttribute, kmip.TagPrivateKeyTemplateAttribute, kmip.TagPublicKeyTemplateAttribute)
}

// getAttributesResponse gathers 1.x Attributes into one 2.x Attributes
// structure, adds the attributes only 2.x defines, and keeps only those
// the request referenced.
func getAttributesResponse(p ttlv.Struct, st itemState) ttlv.Struct {
	var attrs ttlv.Struct
	for _, v := range p {
		if v.Tag != kmip.TagAttribute {
			continue
		}
		a, ok := attrTo2(v)
		if !ok {
			continue
		}
		if st.named {
			if a.Tag == kmip.TagAttribute {
				s := structOf(&a)
				if !st.vendor[vendorName(text(s, kmip.TagVendorIdentification), text(s, kmip.TagAttributeName))] {
					continue
				}
			} else if !st.tags[a.Tag] {
				continue
			}
		}
		attrs = append(attrs, a)
	}
	out := keep(p, kmip.TagUniqueIdentifier)
	return append(out, ttlv.Value{Tag: TagAttributes, Value: attrs})
}

// keep returns the items of p with one of the tags.
func keep(p ttlv.Struct, tags ...int) ttlv.Struct {
	out := make(ttlv.Struct, 0, len(p))
	for _, v := range p {
		for _, t := range tags {
			if v.Tag == t {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// drop returns the items of p without the tags.
func drop(p ttlv.Struct, tags ...int) ttlv.Struct {
	out := make(ttlv.Struct, 0, len(p))
next:
	for _, v := range p {
		for _, t := range tags {
			if v.Tag == t {
				continue next
			}
		}
		out = append(out, v)
	}
	return out
}
