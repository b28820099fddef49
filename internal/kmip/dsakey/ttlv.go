package dsakey

import (
	"encoding/binary"
	"math/big"
)

// TTLV item types the rewrite reads and writes.
const (
	typeStructure   = 0x01
	typeInteger     = 0x02
	typeBigInteger  = 0x04
	typeEnumeration = 0x05
	typeTextString  = 0x07
	typeByteString  = 0x08
)

// node is one TTLV item: val holds Length bytes, padding excluded.
type node struct {
	tag uint32
	typ byte
	val []byte
}

// nodes splits b into consecutive items; ok is false when b is not an
// exact sequence of well-formed items.
func nodes(b []byte) ([]node, bool) {
	var out []node
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, false
		}
		n := uint64(binary.BigEndian.Uint32(b[4:8]))
		padded := (n + 7) / 8 * 8
		if uint64(len(b)-8) < padded {
			return nil, false
		}
		out = append(out, node{tag: uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]), typ: b[3], val: b[8 : 8+n]})
		b = b[8+padded:]
	}
	return out, true
}

// encode writes items with zero padding to 8 bytes.
func encode(items []node) []byte {
	var out []byte
	for _, n := range items {
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

// enumNode and the other constructors build items.
func enumNode(tag uint32, v uint32) node {
	return node{tag: tag, typ: typeEnumeration, val: binary.BigEndian.AppendUint32(nil, v)}
}

func intNode(tag uint32, v int32) node {
	return node{tag: tag, typ: typeInteger, val: binary.BigEndian.AppendUint32(nil, uint32(v))}
}

// uint32Of reads a 4-byte Integer or Enumeration value.
func uint32Of(n node) (uint32, bool) {
	if len(n.val) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(n.val), true
}

// bigIntOf reads a non-negative Big Integer (two's complement, big endian,
// a multiple of 8 bytes long).
func bigIntOf(n node) (*big.Int, bool) {
	if n.typ != typeBigInteger || len(n.val) == 0 || len(n.val)%8 != 0 || n.val[0]&0x80 != 0 {
		return nil, false
	}
	return new(big.Int).SetBytes(n.val), true
}
