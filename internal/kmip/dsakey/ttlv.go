package dsakey

import (
	"encoding/binary"
	"math/big"

	"github.com/keywarden/keywarden/internal/kmip/wire"
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

// enumNode and the other constructors build items.
func enumNode(tag uint32, v uint32) wire.Node {
	return wire.Node{Tag: tag, Type: typeEnumeration, Value: binary.BigEndian.AppendUint32(nil, v)}
}

func intNode(tag uint32, v int32) wire.Node {
	return wire.Node{Tag: tag, Type: typeInteger, Value: binary.BigEndian.AppendUint32(nil, uint32(v))}
}

// uint32Of reads a 4-byte Integer or Enumeration value.
func uint32Of(n wire.Node) (uint32, bool) {
	if len(n.Value) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(n.Value), true
}

// bigIntOf reads a non-negative Big Integer (two's complement, big endian,
// a multiple of 8 bytes long).
func bigIntOf(n wire.Node) (*big.Int, bool) {
	if n.Type != typeBigInteger || len(n.Value) == 0 || len(n.Value)%8 != 0 || n.Value[0]&0x80 != 0 {
		return nil, false
	}
	return new(big.Int).SetBytes(n.Value), true
}
