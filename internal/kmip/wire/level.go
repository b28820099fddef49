package wire

import "encoding/binary"

// Node is one item of a single level of a TTLV encoding: Value holds its
// Length bytes, padding excluded (a structure's Value is its encoded
// children). Code that rewrites a request before the decoder reads it
// (the Locate template unwrapping, the Transparent DSA keys) works on
// levels of Nodes, not on decoded values.
type Node struct {
	Tag   uint32
	Type  Type
	Value []byte
}

// Level splits b into its consecutive items; ok is false when b is not an
// exact sequence of well-formed items. Values alias b.
func Level(b []byte) (nodes []Node, ok bool) {
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, false
		}
		n := uint64(binary.BigEndian.Uint32(b[4:8]))
		padded := (n + 7) / 8 * 8
		if uint64(len(b)-8) < padded {
			return nil, false
		}
		nodes = append(nodes, Node{Tag: uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]), Type: Type(b[3]), Value: b[8 : 8+n]})
		b = b[8+padded:]
	}
	return nodes, true
}

// EncodeLevel encodes nodes one after the other, each padded with zeros
// to a multiple of 8 bytes.
func EncodeLevel(nodes []Node) []byte {
	var out []byte
	for _, n := range nodes {
		var h [8]byte
		h[0], h[1], h[2], h[3] = byte(n.Tag>>16), byte(n.Tag>>8), byte(n.Tag), byte(n.Type)
		binary.BigEndian.PutUint32(h[4:], uint32(len(n.Value)))
		out = append(out, h[:]...)
		out = append(out, n.Value...)
		if pad := (8 - len(n.Value)%8) % 8; pad > 0 {
			out = append(out, make([]byte, pad)...)
		}
	}
	return out
}
