package conformance

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Node is one TTLV item of a vector or of a decoded message.
//
// Value holds, by Type: int32 (Integer), int64 (LongInteger), *big.Int
// (BigInteger), uint32 (Enumeration), bool (Boolean), string (TextString),
// []byte (ByteString), time.Time (DateTime), time.Duration (Interval); it is
// nil for a Structure, whose items are in Children, and for a variable.
type Node struct {
	Tag      int
	Type     ttlv.Type
	Value    any
	Children []*Node

	// Var is the name of the variable that stands for the value, without
	// its "$" ("UNIQUE_IDENTIFIER_0", "NOW"); empty for a literal value.
	Var string
	// Offset is the signed offset of a $NOW±n variable.
	Offset time.Duration
}

// varNow is the variable that stands for the current time.
const varNow = "NOW"

// Name returns the KMIP name of the node's tag, or its hex form.
func (n *Node) Name() string { return tagName(n.Tag) }

// Child returns the first child with the given tag, or nil.
func (n *Node) Child(tag int) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// ChildrenWith returns every child with the given tag, in order.
func (n *Node) ChildrenWith(tag int) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// Clone returns a deep copy of the node.
func (n *Node) Clone() *Node {
	if n == nil {
		return nil
	}
	c := *n
	switch v := n.Value.(type) {
	case []byte:
		c.Value = bytes.Clone(v)
	case *big.Int:
		if v != nil {
			c.Value = new(big.Int).Set(v)
		}
	}
	c.Children = nil
	for _, ch := range n.Children {
		c.Children = append(c.Children, ch.Clone())
	}
	return &c
}

// isVar reports whether the node stands for a variable.
func (n *Node) isVar() bool { return n.Var != "" }

// ValueString formats the node's value for a report; key material is never
// shown in full, only its length and a short prefix.
func (n *Node) ValueString() string {
	if n == nil {
		return "<absent>"
	}
	if n.Tag == kmip.TagAttribute {
		return fmt.Sprintf("Attribute %q", attrNameOf(n))
	}
	if n.isVar() {
		if n.Offset != 0 {
			return fmt.Sprintf("$%s%+d (%s)", n.Var, int64(n.Offset/time.Second), n.Type)
		}
		return fmt.Sprintf("$%s (%s)", n.Var, n.Type)
	}
	return formatValue(n.Type, n.Value, len(n.Children))
}

func formatValue(ty ttlv.Type, v any, children int) string {
	switch val := v.(type) {
	case nil:
		if ty == ttlv.TypeStructure {
			return fmt.Sprintf("structure of %d items", children)
		}
		return fmt.Sprintf("%s(nil)", ty)
	case string:
		return fmt.Sprintf("%q", val)
	case []byte:
		if len(val) > 16 {
			return fmt.Sprintf("%d bytes %s…", len(val), strings.ToUpper(hex.EncodeToString(val[:8])))
		}
		return fmt.Sprintf("%d bytes %s", len(val), strings.ToUpper(hex.EncodeToString(val)))
	case time.Time:
		return val.UTC().Format(time.RFC3339)
	case time.Duration:
		return fmt.Sprintf("%ds", int64(val/time.Second))
	case uint32:
		return fmt.Sprintf("0x%08X", val)
	case *big.Int:
		if val == nil {
			return "BigInteger(0)"
		}
		return "BigInteger(" + val.String() + ")"
	default:
		return fmt.Sprint(val)
	}
}

// describe formats a node for a mismatch report: its type, and its value
// with enumeration names resolved.
func describe(n *Node, enumTag int) string {
	if n == nil {
		return "<absent>"
	}
	if !n.isVar() && n.Type == ttlv.TypeEnumeration {
		if v, ok := n.Value.(uint32); ok {
			return enumName(enumTag, v)
		}
	}
	return n.ValueString()
}

// toTTLV converts a tree without variables to ovh's generic value.
func (n *Node) toTTLV() (ttlv.Value, error) {
	if n.isVar() {
		return ttlv.Value{}, fmt.Errorf("unsubstituted variable $%s in %s", n.Var, n.Name())
	}
	out := ttlv.Value{Tag: n.Tag}
	switch n.Type {
	case ttlv.TypeStructure:
		st := make(ttlv.Struct, 0, len(n.Children))
		for _, c := range n.Children {
			v, err := c.toTTLV()
			if err != nil {
				return ttlv.Value{}, err
			}
			st = append(st, v)
		}
		out.Value = st
	case ttlv.TypeEnumeration:
		v, ok := n.Value.(uint32)
		if !ok {
			return ttlv.Value{}, fmt.Errorf("%s: enumeration holds %T", n.Name(), n.Value)
		}
		out.Value = ttlv.Enum(v)
	case ttlv.TypeBigInteger:
		v, ok := n.Value.(*big.Int)
		if !ok || v == nil {
			v = new(big.Int)
		}
		out.Value = v
	default:
		if !valueMatchesType(n.Type, n.Value) {
			return ttlv.Value{}, fmt.Errorf("%s: %s holds %T", n.Name(), n.Type, n.Value)
		}
		out.Value = n.Value
	}
	return out, nil
}

func valueMatchesType(ty ttlv.Type, v any) bool {
	switch v.(type) {
	case int32:
		return ty == ttlv.TypeInteger
	case int64:
		return ty == ttlv.TypeLongInteger
	case bool:
		return ty == ttlv.TypeBoolean
	case string:
		return ty == ttlv.TypeTextString
	case []byte:
		return ty == ttlv.TypeByteString
	case time.Time:
		return ty == ttlv.TypeDateTime
	case time.Duration:
		return ty == ttlv.TypeInterval
	}
	return false
}

// fromTTLV converts ovh's generic value to a tree.
func fromTTLV(v ttlv.Value) (*Node, error) {
	n := &Node{Tag: v.Tag}
	switch val := v.Value.(type) {
	case ttlv.Struct:
		n.Type = ttlv.TypeStructure
		for _, c := range val {
			child, err := fromTTLV(c)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, child)
		}
	case int32:
		n.Type, n.Value = ttlv.TypeInteger, val
	case int64:
		n.Type, n.Value = ttlv.TypeLongInteger, val
	case *big.Int:
		if val == nil {
			val = new(big.Int)
		}
		n.Type, n.Value = ttlv.TypeBigInteger, val
	case ttlv.Enum:
		n.Type, n.Value = ttlv.TypeEnumeration, uint32(val)
	case bool:
		n.Type, n.Value = ttlv.TypeBoolean, val
	case string:
		n.Type, n.Value = ttlv.TypeTextString, val
	case []byte:
		n.Type, n.Value = ttlv.TypeByteString, val
	case time.Time:
		n.Type, n.Value = ttlv.TypeDateTime, val
	case time.Duration:
		n.Type, n.Value = ttlv.TypeInterval, val
	default:
		return nil, fmt.Errorf("tag %s: unsupported value %T", tagName(v.Tag), v.Value)
	}
	return n, nil
}

// Encode encodes a tree without variables in binary TTLV.
func Encode(n *Node) (out []byte, err error) {
	v, err := n.toTTLV()
	if err != nil {
		return nil, fmt.Errorf("conformance: encode: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("conformance: encode %s: %v", n.Name(), r)
		}
	}()
	return ttlv.MarshalTTLV(v), nil
}

// Decode decodes one binary TTLV message into a tree.
func Decode(data []byte) (n *Node, err error) {
	if len(data) < 8 {
		return nil, errors.New("conformance: decode: message shorter than a TTLV header")
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("conformance: decode: %v", r)
		}
	}()
	var v ttlv.Value
	if err := ttlv.UnmarshalTTLV(data, &v); err != nil {
		return nil, fmt.Errorf("conformance: decode: %w", err)
	}
	n, err = fromTTLV(v)
	if err != nil {
		return nil, fmt.Errorf("conformance: decode: %w", err)
	}
	return n, nil
}
