package kmip

import (
	"encoding/binary"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// TTLV tags and types rewriteLocateTemplates reads.
const (
	tagRequestMessage    = 0x420078
	tagBatchItem         = 0x42000F
	tagOperation         = 0x42005C
	tagRequestPayload    = 0x420079
	tagTemplateAttribute = 0x420091
	tagAttribute         = 0x420008
	tagAttributeName     = 0x42000A
	tagAttributeValue    = 0x42000B
	tagName              = 0x420053

	ttlvStructure   = 0x01
	ttlvEnumeration = 0x05
	ttlvTextString  = 0x07

	opLocate = 0x00000008
)

// rewriteLocateTemplates accepts FortiOS's Locate, which wraps its filter
// in a Template Attribute structure (as Create and Register do) instead of
// sending bare Attribute fields: in the payload of every Locate batch item,
// a Template Attribute is replaced by the Attributes it holds, its Names
// (the KMIP 1.0 template form) becoming Name attributes. The decoder only
// knows the standard Locate payload and would otherwise refuse the
// request. msg must have passed wire.Validate; it is returned unchanged
// when it holds no such Locate or is not shaped as expected.
func rewriteLocateTemplates(msg []byte) []byte {
	top, ok := wire.Level(msg)
	if !ok || len(top) != 1 || top[0].Tag != tagRequestMessage || top[0].Type != ttlvStructure {
		return msg
	}
	items, ok := wire.Level(top[0].Value)
	if !ok {
		return msg
	}
	changed := false
	for i, it := range items {
		if it.Tag != tagBatchItem || it.Type != ttlvStructure {
			continue
		}
		fields, ok := wire.Level(it.Value)
		if !ok || !isLocate(fields) {
			continue
		}
		for j, f := range fields {
			if f.Tag != tagRequestPayload || f.Type != ttlvStructure {
				continue
			}
			val, done := unwrapTemplates(f.Value)
			if !done {
				continue
			}
			fields[j].Value, changed = val, true
		}
		items[i].Value = wire.EncodeLevel(fields)
	}
	if !changed {
		return msg
	}
	top[0].Value = wire.EncodeLevel(items)
	return wire.EncodeLevel(top)
}

// isLocate reports whether a batch item's fields name the Locate operation.
func isLocate(fields []wire.Node) bool {
	for _, f := range fields {
		if f.Tag == tagOperation {
			return f.Type == ttlvEnumeration && len(f.Value) == 4 && binary.BigEndian.Uint32(f.Value) == opLocate
		}
	}
	return false
}

// unwrapTemplates rewrites a Locate payload's Template Attributes into
// Attribute fields; it reports false when there was none.
func unwrapTemplates(payload []byte) ([]byte, bool) {
	fields, ok := wire.Level(payload)
	if !ok {
		return payload, false
	}
	var out []wire.Node
	found := false
	for _, f := range fields {
		if f.Tag != tagTemplateAttribute || f.Type != ttlvStructure {
			out = append(out, f)
			continue
		}
		inner, ok := wire.Level(f.Value)
		if !ok {
			return payload, false
		}
		found = true
		for _, a := range inner {
			switch {
			case a.Tag == tagAttribute:
				out = append(out, a)
			case a.Tag == tagName && a.Type == ttlvStructure:
				out = append(out, wire.Node{Tag: tagAttribute, Type: ttlvStructure, Value: wire.EncodeLevel([]wire.Node{
					{Tag: tagAttributeName, Type: ttlvTextString, Value: []byte("Name")},
					{Tag: tagAttributeValue, Type: ttlvStructure, Value: a.Value},
				})})
			default:
				out = append(out, a) // left for the decoder to refuse
			}
		}
	}
	if !found {
		return payload, false
	}
	return wire.EncodeLevel(out), true
}
