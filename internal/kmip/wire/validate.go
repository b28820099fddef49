package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Default limits, used for the zero fields of Limits.
const (
	DefaultMaxDepth = 32
	DefaultMaxItems = 100000
)

// Limits bound the shape of a message. A zero field takes its default.
type Limits struct {
	// MaxDepth is the deepest nesting allowed, the top-level item being at
	// depth 1. Default DefaultMaxDepth.
	MaxDepth int
	// MaxItems is the number of items allowed in one message, the
	// top-level item included. Default DefaultMaxItems.
	MaxItems int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	return l
}

// Stats describes a valid message.
type Stats struct {
	// Items is the number of TTLV items, the top-level item included.
	Items int
	// Depth is the deepest nesting level reached (1 for a lone item).
	Depth int
}

// Item is one TTLV item met by Walk.
type Item struct {
	// Depth is the nesting level: 1 for the top-level item, 2 for its
	// children, and so on.
	Depth int
	// Offset is the position of the item's header in the message.
	Offset int
	// Tag is the 3-byte tag, Type the type byte.
	Tag  uint32
	Type Type
	// Length is the declared length: the value's length without padding,
	// or for a Structure the length of all its children.
	Length int
	// Value is the value without padding; nil for a Structure. In Walk it
	// aliases the message and is valid only during the callback.
	Value []byte
}

// Validate checks that msg is exactly one well-formed TTLV item (normally a
// request or response message structure) and returns its statistics. Every
// item is checked: a known type, a tag in 0x420000–0x42FFFF or
// 0x540000–0x54FFFF, the fixed length of fixed-size types, zero padding to
// 8 bytes, Boolean values 0 or 1, BigInteger lengths a non-zero multiple of
// 8, valid UTF-8 text, structure lengths exactly equal to their children,
// the depth and item limits, and nothing after the top-level item. The
// field rules of fields.go are checked too. Errors match
// ErrInvalid and are usually an *ItemError.
func Validate(msg []byte, limits Limits) (Stats, error) {
	fc := newFieldChecker()
	st, err := Walk(msg, limits, fc.visit)
	if err != nil {
		return st, err
	}
	return st, fc.finish()
}

// Walk checks the structure of msg like Validate (without the field rules)
// and calls fn, if not nil, for every item in document order, parents
// before children. It stops at the first error, either a validation error
// or the one fn returned, which is passed back unwrapped.
func Walk(msg []byte, limits Limits, fn func(Item) error) (Stats, error) {
	limits = limits.withDefaults()
	var st Stats
	if len(msg) == 0 {
		return st, fmt.Errorf("wire: empty message: %w", ErrTruncated)
	}
	// ends holds the end offset of every open structure, outermost first.
	ends := make([]int, 0, 8)
	pos := 0
	for pos < len(msg) {
		for len(ends) > 0 && pos == ends[len(ends)-1] {
			ends = ends[:len(ends)-1]
		}
		if len(ends) == 0 && st.Items > 0 {
			return st, &ItemError{Offset: pos, Detail: fmt.Sprintf("%d bytes after the top-level item", len(msg)-pos), Err: ErrTrailing}
		}
		end := len(msg)
		if len(ends) > 0 {
			end = ends[len(ends)-1]
		}
		if end-pos < HeaderLen {
			if len(ends) == 0 {
				return st, &ItemError{Offset: pos, Detail: fmt.Sprintf("%d bytes, header needs %d", end-pos, HeaderLen), Err: ErrTruncated}
			}
			return st, &ItemError{Offset: pos, Detail: fmt.Sprintf("%d bytes left in the enclosing structure, header needs %d", end-pos, HeaderLen), Err: ErrBadLength}
		}
		tag, typ, ulen := parseHeader(msg[pos:])
		it := Item{Depth: len(ends) + 1, Offset: pos, Tag: tag, Type: typ}
		st.Items++
		if st.Items > limits.MaxItems {
			return st, itemErr(it, ErrTooManyItems, "more than %d items", limits.MaxItems)
		}
		if it.Depth > limits.MaxDepth {
			return st, itemErr(it, ErrTooDeep, "depth %d exceeds %d", it.Depth, limits.MaxDepth)
		}
		st.Depth = max(st.Depth, it.Depth)
		if !validTag(tag) {
			return st, itemErr(it, ErrBadTag, "tag outside 0x42xxxx and 0x54xxxx")
		}
		if typ < TypeStructure || typ > TypeInterval {
			return st, itemErr(it, ErrBadType, "type byte 0x%02X", byte(typ))
		}
		room := end - pos - HeaderLen // bytes available for the padded value
		if uint64(ulen) > uint64(room) {
			return st, itemErr(it, lengthReason(len(ends)), "length %d, only %d bytes left", ulen, room)
		}
		length := int(ulen)
		it.Length = length
		if typ == TypeStructure {
			if length%8 != 0 {
				return st, itemErr(it, ErrBadLength, "structure length %d not a multiple of 8", length)
			}
			if fn != nil {
				if err := fn(it); err != nil {
					return st, err
				}
			}
			ends = append(ends, pos+HeaderLen+length)
			pos += HeaderLen
			continue
		}
		padded := length + pad8(length)
		if padded > room {
			return st, itemErr(it, lengthReason(len(ends)), "padded length %d, only %d bytes left", padded, room)
		}
		value := msg[pos+HeaderLen : pos+HeaderLen+length]
		padding := msg[pos+HeaderLen+length : pos+HeaderLen+padded]
		if err := checkValue(it, value); err != nil {
			return st, err
		}
		for _, b := range padding {
			if b != 0 {
				return st, itemErr(it, ErrBadPadding, "padding of %d bytes not zero", len(padding))
			}
		}
		if fn != nil {
			it.Value = value
			if err := fn(it); err != nil {
				return st, err
			}
		}
		pos += HeaderLen + padded
	}
	return st, nil
}

// lengthReason says why an item does not fit: at top level the message is
// cut short; inside a structure the structure's length is inconsistent.
func lengthReason(open int) error {
	if open == 0 {
		return ErrTruncated
	}
	return ErrBadLength
}

// checkValue applies the per-type rules to a primitive item's value.
func checkValue(it Item, v []byte) error {
	switch it.Type {
	case TypeInteger, TypeEnumeration, TypeInterval:
		if len(v) != 4 {
			return itemErr(it, ErrBadLength, "length %d, want 4", len(v))
		}
	case TypeLongInteger, TypeDateTime:
		if len(v) != 8 {
			return itemErr(it, ErrBadLength, "length %d, want 8", len(v))
		}
	case TypeBoolean:
		if len(v) != 8 {
			return itemErr(it, ErrBadLength, "length %d, want 8", len(v))
		}
		if u := binary.BigEndian.Uint64(v); u > 1 {
			return itemErr(it, ErrBadBoolean, "value neither 0 nor 1")
		}
	case TypeBigInteger:
		if len(v) == 0 || len(v)%8 != 0 {
			return itemErr(it, ErrBadLength, "length %d, want a non-zero multiple of 8", len(v))
		}
	case TypeTextString:
		if !utf8.Valid(v) {
			return itemErr(it, ErrBadUTF8, "invalid UTF-8 in %d bytes", len(v))
		}
	case TypeByteString:
		// Any bytes.
	default:
		return itemErr(it, ErrBadType, "type byte 0x%02X", byte(it.Type))
	}
	return nil
}

// validTag reports whether tag is in the KMIP range 0x42xxxx or the
// extension range 0x54xxxx.
func validTag(tag uint32) bool {
	hi := tag >> 16
	return hi == 0x42 || hi == 0x54
}

func pad8(n int) int { return (8 - n%8) % 8 }

func itemErr(it Item, reason error, format string, args ...any) error {
	return &ItemError{Offset: it.Offset, Tag: it.Tag, Type: it.Type, Detail: fmt.Sprintf(format, args...), Err: reason}
}
