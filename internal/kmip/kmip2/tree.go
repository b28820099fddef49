package kmip2

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Errors of the translation. The front end maps them to Result Reasons.
var (
	// ErrMalformed: the message is not a KMIP request message.
	ErrMalformed = errors.New("kmip2: malformed message")
	// ErrUnsupportedAttribute: a 2.x attribute this server does not keep.
	ErrUnsupportedAttribute = errors.New("kmip2: unsupported attribute")
	// ErrNotSupported: a 2.x form the translation does not offer.
	ErrNotSupported = errors.New("kmip2: not supported")
	// ErrReadOnly: a client tried to change an attribute the server derives.
	ErrReadOnly = errors.New("kmip2: attribute derived by the server")
)

// v14 is the version a translated 2.x message carries.
var v14 = kmip.V1_4

// Offsets of the protocol version in a TTLV request or response message:
// message (8), header (8), Protocol Version (8), then the Major and Minor
// integers (16 bytes each).
const (
	offMajor = 24
	offMinor = 40
)

// PeekVersion reads the protocol version of a TTLV request message without
// decoding it. ok is false when the first items are not a message, a
// header and a Protocol Version.
func PeekVersion(msg []byte) (v kmip.ProtocolVersion, ok bool) {
	if len(msg) < offMinor+16 {
		return v, false
	}
	tag := func(off int) uint32 { return uint32(msg[off])<<16 | uint32(msg[off+1])<<8 | uint32(msg[off+2]) }
	if tag(0) != kmip.TagRequestMessage || tag(8) != kmip.TagRequestHeader || tag(16) != kmip.TagProtocolVersion ||
		tag(offMajor) != kmip.TagProtocolVersionMajor || tag(offMinor) != kmip.TagProtocolVersionMinor ||
		msg[offMajor+3] != byte(ttlv.TypeInteger) || msg[offMinor+3] != byte(ttlv.TypeInteger) {
		return v, false
	}
	v.ProtocolVersionMajor = int32(binary.BigEndian.Uint32(msg[offMajor+8:]))
	v.ProtocolVersionMinor = int32(binary.BigEndian.Uint32(msg[offMinor+8:]))
	return v, true
}

// child returns the first item of s with the tag, or nil.
func child(s ttlv.Struct, tag int) *ttlv.Value {
	for i := range s {
		if s[i].Tag == tag {
			return &s[i]
		}
	}
	return nil
}

// text returns the text of the first item of s with the tag, or "".
func text(s ttlv.Struct, tag int) string {
	if c := child(s, tag); c != nil {
		if t, ok := c.Value.(string); ok {
			return t
		}
	}
	return ""
}

// structOf returns v's structure, or nil.
func structOf(v *ttlv.Value) ttlv.Struct {
	if v == nil {
		return nil
	}
	s, _ := v.Value.(ttlv.Struct)
	return s
}

// setVersion rewrites the Protocol Version of a message header.
func setVersion(header ttlv.Struct, v kmip.ProtocolVersion) error {
	pv := structOf(child(header, kmip.TagProtocolVersion))
	maj, mnr := child(pv, kmip.TagProtocolVersionMajor), child(pv, kmip.TagProtocolVersionMinor)
	if maj == nil || mnr == nil {
		return fmt.Errorf("%w: no protocol version", ErrMalformed)
	}
	maj.Value, mnr.Value = v.ProtocolVersionMajor, v.ProtocolVersionMinor
	return nil
}

// attr1 is a 1.x Attribute structure.
func attr1(name kmip.AttributeName, value any) ttlv.Value {
	return ttlv.Value{Tag: kmip.TagAttribute, Value: ttlv.Struct{
		{Tag: kmip.TagAttributeName, Value: string(name)},
		{Tag: kmip.TagAttributeValue, Value: value},
	}}
}

// attrTo1 turns one item of a 2.x Attributes structure (or of a New or
// Current Attribute) into a 1.x Attribute.
func attrTo1(v ttlv.Value) (ttlv.Value, error) {
	if v.Tag == kmip.TagAttribute {
		s := structOf(&v)
		val := child(s, kmip.TagAttributeValue)
		vendor, name := text(s, kmip.TagVendorIdentification), text(s, kmip.TagAttributeName)
		if val == nil || vendor == "" || name == "" {
			return ttlv.Value{}, fmt.Errorf("%w: incomplete vendor attribute", ErrMalformed)
		}
		return attr1(vendorName(vendor, name), val.Value), nil
	}
	name, ok := AttrName(v.Tag)
	if !ok {
		return ttlv.Value{}, fmt.Errorf("%w: %s", ErrUnsupportedAttribute, ttlv.TagString(v.Tag))
	}
	return attr1(name, v.Value), nil
}

// attrsTo1 converts the items of a 2.x Attributes structure.
func attrsTo1(s ttlv.Struct) ([]ttlv.Value, error) {
	out := make([]ttlv.Value, 0, len(s))
	for _, v := range s {
		a, err := attrTo1(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// attrTo2 turns a 1.x Attribute structure into a 2.x attribute item; ok is
// false for an attribute 2.x does not define.
func attrTo2(a ttlv.Value) (ttlv.Value, bool) {
	s := structOf(&a)
	name := kmip.AttributeName(text(s, kmip.TagAttributeName))
	val := child(s, kmip.TagAttributeValue)
	if val == nil {
		return ttlv.Value{}, false
	}
	if vendor, attr, ok := splitVendor(name); ok {
		return ttlv.Value{Tag: kmip.TagAttribute, Value: ttlv.Struct{
			{Tag: kmip.TagVendorIdentification, Value: vendor},
			{Tag: kmip.TagAttributeName, Value: attr},
			{Tag: kmip.TagAttributeValue, Value: val.Value},
		}}, true
	}
	tag, ok := AttrTag(name)
	if !ok {
		return ttlv.Value{}, false
	}
	return ttlv.Value{Tag: tag, Value: val.Value}, true
}

// refTo1 turns a 2.x Attribute Reference into a 1.x attribute name; tag is
// the referenced tag (0 for a vendor attribute).
func refTo1(v ttlv.Value) (name kmip.AttributeName, tag int, err error) {
	switch x := v.Value.(type) {
	case ttlv.Enum:
		tag = int(x)
		if OnlyV2[tag] {
			return "", tag, nil
		}
		n, ok := AttrName(tag)
		if !ok {
			return "", tag, fmt.Errorf("%w: %s", ErrUnsupportedAttribute, ttlv.TagString(tag))
		}
		return n, tag, nil
	case ttlv.Struct:
		vendor, attr := text(x, kmip.TagVendorIdentification), text(x, kmip.TagAttributeName)
		if vendor == "" || attr == "" {
			return "", 0, fmt.Errorf("%w: incomplete attribute reference", ErrMalformed)
		}
		return vendorName(vendor, attr), 0, nil
	}
	return "", 0, fmt.Errorf("%w: attribute reference of an unexpected type", ErrMalformed)
}

// refTo2 is the 2.x Attribute Reference of a 1.x attribute name.
func refTo2(name kmip.AttributeName) (ttlv.Value, bool) {
	if vendor, attr, ok := splitVendor(name); ok {
		return ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Struct{
			{Tag: kmip.TagVendorIdentification, Value: vendor},
			{Tag: kmip.TagAttributeName, Value: attr},
		}}, true
	}
	tag, ok := AttrTag(name)
	if !ok {
		return ttlv.Value{}, false
	}
	return ttlv.Value{Tag: TagAttributeReference, Value: ttlv.Enum(uint32(tag))}, true
}
