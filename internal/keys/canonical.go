package keys

import (
	"fmt"
	"math"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Attribute values reach the core in more than one Go form: the KMIP codec
// decodes a custom attribute as a ttlv.Value tagged Attribute Value, while
// in-process callers may give a plain string, an int32, an untagged
// ttlv.Value or a Go int. A record stores the TTLV encoding, so it always
// reads back in the decoded form; an index key or a match computed from any
// other form differs from the one computed from the record, which leaves
// stale index entries behind on Modify and Delete. The canonical form of an
// attribute is therefore the one its stored encoding decodes to, and every
// value is brought to it where it enters the core: before an object is
// written (Manager.write) and before a Locate query is used.

// canonicalAttrs returns attrs in canonical form (a new slice; attrs is not
// changed). A value that has no TTLV encoding, or whose encoding does not
// decode as its attribute's type, is ErrInvalidField.
func canonicalAttrs(attrs []kmip.Attribute) ([]kmip.Attribute, error) {
	out := make([]kmip.Attribute, len(attrs))
	for i, a := range attrs {
		c, err := canonicalAttr(a)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// canonicalQuery returns the Locate criteria in canonical form. A date
// keeps its sub-second part (the range it bounds compares instants), and a
// value without an encoding is kept as given: it matches no stored value,
// as before.
func canonicalQuery(attrs []kmip.Attribute) []kmip.Attribute {
	out := make([]kmip.Attribute, len(attrs))
	for i, a := range attrs {
		out[i] = a
		if _, isDate := a.AttributeValue.(time.Time); isDate {
			continue
		}
		if c, err := canonicalAttr(a); err == nil {
			out[i] = c
		}
	}
	return out
}

// canonicalAttr round-trips one attribute through its TTLV encoding, after
// bringing Go integers the encoder does not know to the TTLV integer types.
// The encoder panics on some Go values; that panic is returned as an error.
func canonicalAttr(a kmip.Attribute) (c kmip.Attribute, err error) {
	if a.AttributeValue == nil {
		return kmip.Attribute{}, fmt.Errorf("%w: attribute %q has no value", ErrInvalidField, a.AttributeName)
	}
	if alreadyCanonical(a) {
		return a, nil
	}
	in := kmip.Attribute{AttributeName: a.AttributeName, AttributeIndex: a.AttributeIndex, AttributeValue: goInteger(a.AttributeValue)}
	if v, ok := in.AttributeValue.(ttlv.Value); ok {
		v.Value = goInteger(v.Value)
		in.AttributeValue = v
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = kmip.Attribute{}, fmt.Errorf("%w: attribute %q: a value of type %T has no TTLV encoding", ErrInvalidField, a.AttributeName, a.AttributeValue)
		}
	}()
	enc := ttlv.MarshalTTLV(&in)
	if err := ttlv.UnmarshalTTLV(enc, &c); err != nil {
		return kmip.Attribute{}, fmt.Errorf("%w: attribute %q: %w", ErrInvalidField, a.AttributeName, err)
	}
	if c.AttributeValue == nil {
		return kmip.Attribute{}, fmt.Errorf("%w: attribute %q has no value", ErrInvalidField, a.AttributeName)
	}
	return c, nil
}

// alreadyCanonical reports whether a round trip cannot change how a is
// indexed or matched, so that the write path (where every attribute of an
// object passes, most of them just decoded by the KMIP codec or set by the
// server) need not encode and decode it: a standard attribute whose value is
// neither a generic ttlv.Value nor a Go integer the encoder refuses. Its
// index key (index.go) comes from typed fields, which an encoding keeps.
// Custom attributes, indexed by their encoding, always take the round trip.
func alreadyCanonical(a kmip.Attribute) bool {
	if a.AttributeName.IsCustom() {
		return false
	}
	switch a.AttributeValue.(type) {
	case ttlv.Value, int, int8, int16, uint8, uint16, uint32:
		return false
	}
	return true
}

// goInteger maps the Go integer types the TTLV encoder refuses to Integer
// (int32) when the value fits, Long Integer (int64) otherwise. Other values
// are returned unchanged.
func goInteger(v any) any {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	default:
		return v
	}
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return int32(n)
	}
	return n
}
