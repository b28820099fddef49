package kmip

import "encoding/binary"

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
	top, ok := ttlvNodes(msg)
	if !ok || len(top) != 1 || top[0].tag != tagRequestMessage || top[0].typ != ttlvStructure {
		return msg
	}
	items, ok := ttlvNodes(top[0].val)
	if !ok {
		return msg
	}
	changed := false
	for i, it := range items {
		if it.tag != tagBatchItem || it.typ != ttlvStructure {
			continue
		}
		fields, ok := ttlvNodes(it.val)
		if !ok || !isLocate(fields) {
			continue
		}
		for j, f := range fields {
			if f.tag != tagRequestPayload || f.typ != ttlvStructure {
				continue
			}
			val, done := unwrapTemplates(f.val)
			if !done {
				continue
			}
			fields[j].val, changed = val, true
		}
		items[i].val = ttlvEncode(fields)
	}
	if !changed {
		return msg
	}
	top[0].val = ttlvEncode(items)
	return ttlvEncode(top)
}

// isLocate reports whether a batch item's fields name the Locate operation.
func isLocate(fields []ttlvNode) bool {
	for _, f := range fields {
		if f.tag == tagOperation {
			return f.typ == ttlvEnumeration && len(f.val) == 4 && binary.BigEndian.Uint32(f.val) == opLocate
		}
	}
	return false
}

// unwrapTemplates rewrites a Locate payload's Template Attributes into
// Attribute fields; it reports false when there was none.
func unwrapTemplates(payload []byte) ([]byte, bool) {
	fields, ok := ttlvNodes(payload)
	if !ok {
		return payload, false
	}
	var out []ttlvNode
	found := false
	for _, f := range fields {
		if f.tag != tagTemplateAttribute || f.typ != ttlvStructure {
			out = append(out, f)
			continue
		}
		inner, ok := ttlvNodes(f.val)
		if !ok {
			return payload, false
		}
		found = true
		for _, a := range inner {
			switch {
			case a.tag == tagAttribute:
				out = append(out, a)
			case a.tag == tagName && a.typ == ttlvStructure:
				out = append(out, ttlvNode{tag: tagAttribute, typ: ttlvStructure, val: ttlvEncode([]ttlvNode{
					{tag: tagAttributeName, typ: ttlvTextString, val: []byte("Name")},
					{tag: tagAttributeValue, typ: ttlvStructure, val: a.val},
				})})
			default:
				out = append(out, a) // left for the decoder to refuse
			}
		}
	}
	if !found {
		return payload, false
	}
	return ttlvEncode(out), true
}

// ttlvNode is one TTLV item: its value holds Length bytes, padding excluded.
type ttlvNode struct {
	tag uint32
	typ byte
	val []byte
}

// ttlvNodes splits b into consecutive items; it reports false when b is
// not an exact sequence of well-formed items.
func ttlvNodes(b []byte) ([]ttlvNode, bool) {
	var out []ttlvNode
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, false
		}
		n := uint64(binary.BigEndian.Uint32(b[4:8]))
		padded := (n + 7) / 8 * 8
		if uint64(len(b)-8) < padded {
			return nil, false
		}
		out = append(out, ttlvNode{
			tag: uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
			typ: b[3],
			val: b[8 : 8+n],
		})
		b = b[8+padded:]
	}
	return out, true
}

// ttlvEncode encodes items with zero padding to 8 bytes.
func ttlvEncode(nodes []ttlvNode) []byte {
	var out []byte
	for _, n := range nodes {
		var h [8]byte
		h[0], h[1], h[2], h[3] = byte(n.tag>>16), byte(n.tag>>8), byte(n.tag), n.typ
		binary.BigEndian.PutUint32(h[4:], uint32(len(n.val)))
		out = append(out, h[:]...)
		out = append(out, n.val...)
		if pad := (8 - len(n.val)%8) % 8; pad > 0 {
			out = append(out, make([]byte, pad)...)
		}
	}
	return out
}
