package kmiphttp

import (
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// KMIP 2.x requests in XML and JSON. ovh's typed request message is a 1.4
// one: it decodes a 2.x message without an error but drops the fields only
// 2.x defines (Attributes, Attribute Reference, Ephemeral, ...). A 2.x
// request is therefore decoded as a generic value, which the router
// translates like a binary one. ovh's generic value reads an Integer as a
// number only, while the KMIP XML and JSON encodings may write a mask by
// its names ("Encrypt Decrypt"), which only the typed decoder resolves:
// textValue reads them by the item's own tag (in 2.x an attribute is
// tagged by itself, so Cryptographic Usage Mask names resolve).

// textValue is a generic TTLV value whose Integers may be mask names.
type textValue ttlv.Value

// DecodeTTLV decodes the value at the decoder's position.
func (v *textValue) DecodeTTLV(d *ttlv.Decoder) error {
	return v.TagDecodeTTLV(d, d.Tag())
}

// TagDecodeTTLV decodes the value with the given tag.
func (v *textValue) TagDecodeTTLV(d *ttlv.Decoder, tag int) error {
	v.Tag = tag
	switch d.Type() {
	case ttlv.TypeInteger:
		n, err := d.Integer(tag)
		if err != nil {
			// Not a number: mask names (the reader has not moved on).
			if n, err = d.Bitmask(tag, tag); err != nil {
				return fmt.Errorf("kmiphttp: integer %s: %w", ttlv.TagString(tag), err)
			}
		}
		v.Value = n
		return nil
	case ttlv.TypeStructure:
		var s ttlv.Struct
		err := d.Struct(tag, func(d *ttlv.Decoder) error {
			for d.Tag() != 0 {
				var f textValue
				if err := f.DecodeTTLV(d); err != nil {
					return err
				}
				s = append(s, ttlv.Value(f))
			}
			return nil
		})
		v.Value = s
		return err
	}
	var g ttlv.Value
	if err := g.TagDecodeTTLV(d, tag); err != nil {
		return err
	}
	v.Value = g.Value
	return nil
}

// text2 decodes a text request into binary TTLV as a generic value when it
// is a KMIP 2.x request message.
func text2(unmarshal func([]byte, any) error, b []byte) ([]byte, bool) {
	var v textValue
	if err := unmarshal(b, &v); err != nil || v.Tag != kmip.TagRequestMessage {
		return nil, false
	}
	enc := ttlv.MarshalTTLV(ttlv.Value(v))
	if pv, ok := kmip2.PeekVersion(enc); ok && pv.ProtocolVersionMajor == 2 {
		return enc, true
	}
	return nil, false
}
