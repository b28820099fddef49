package kmip

import (
	"encoding/binary"

	"github.com/ovh/kmip-go"
)

// ovh/kmip-go v0.8.1 encodes a Result Reason in every batch item whose
// status is not Success, a zero one included. An Operation Pending item
// has no reason (KMIP 1.x section 6.7), nor has an Operation Undone one
// (a reason is for failures): stripPendingReasons removes it from the
// encoded response message, walking the TTLV framing.

const (
	pendHeaderLen      = 8
	pendTypeStructure  = 0x01
	pendTypeByteString = 0x08
	pendTypeTextString = 0x07
	pendTypeBigInteger = 0x04
)

// pendItem is one item of an encoded structure.
type pendItem struct {
	tag  uint32
	typ  byte
	body []byte // the value, without padding
	raw  []byte // header, value and padding
}

// pendChildren splits the value of a structure into its items; ok is false
// when the framing is not sound.
func pendChildren(b []byte) (items []pendItem, ok bool) {
	for len(b) > 0 {
		if len(b) < pendHeaderLen {
			return nil, false
		}
		tag := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		typ := b[3]
		n := int(binary.BigEndian.Uint32(b[4:8]))
		padded := n
		switch typ {
		case pendTypeStructure, pendTypeByteString, pendTypeTextString, pendTypeBigInteger:
			padded = (n + 7) / 8 * 8
		default:
			padded = 8
		}
		if n < 0 || pendHeaderLen+padded > len(b) || n > padded {
			return nil, false
		}
		items = append(items, pendItem{tag: tag, typ: typ, body: b[pendHeaderLen : pendHeaderLen+n], raw: b[:pendHeaderLen+padded]})
		b = b[pendHeaderLen+padded:]
	}
	return items, true
}

// pendStruct encodes a structure of the given tag from encoded items.
func pendStruct(tag uint32, items [][]byte) []byte {
	n := 0
	for _, it := range items {
		n += len(it)
	}
	out := make([]byte, pendHeaderLen, pendHeaderLen+n)
	out[0], out[1], out[2], out[3] = byte(tag>>16), byte(tag>>8), byte(tag), pendTypeStructure
	binary.BigEndian.PutUint32(out[4:], uint32(n))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// stripPendingReasons returns the response message without the Result
// Reason of its Operation Pending batch items; it returns msg unchanged
// when there are none or the framing cannot be walked.
func stripPendingReasons(msg []byte) []byte {
	top, ok := pendChildren(msg)
	if !ok || len(top) != 1 || top[0].typ != pendTypeStructure {
		return msg
	}
	parts, ok := pendChildren(top[0].body)
	if !ok {
		return msg
	}
	changed := false
	out := make([][]byte, 0, len(parts))
	for _, p := range parts {
		if p.tag != kmip.TagBatchItem || p.typ != pendTypeStructure {
			out = append(out, p.raw)
			continue
		}
		fields, ok := pendChildren(p.body)
		if !ok {
			return msg
		}
		pending := false
		for _, f := range fields {
			if f.tag == kmip.TagResultStatus && len(f.body) == 4 && (binary.BigEndian.Uint32(f.body) == uint32(kmip.ResultStatusOperationPending) ||
				binary.BigEndian.Uint32(f.body) == uint32(kmip.ResultStatusOperationUndone)) { // undone: undo.go
				pending = true
			}
		}
		if !pending {
			out = append(out, p.raw)
			continue
		}
		kept := make([][]byte, 0, len(fields))
		for _, f := range fields {
			if f.tag == kmip.TagResultReason {
				changed = true
				continue
			}
			kept = append(kept, f.raw)
		}
		out = append(out, pendStruct(kmip.TagBatchItem, kept))
	}
	if !changed {
		return msg
	}
	return pendStruct(top[0].tag, out)
}
