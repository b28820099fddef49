package conformance

import (
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// KMIP 2.x messages over HTTPS. ovh/kmip-go's typed messages are 1.4 ones:
// they decode a 2.x message without an error but drop the fields only 2.x
// defines (Attributes, Attribute Reference, ...). An HTTPConn therefore
// converts 2.x messages through generic TTLV values, both ways, so that a
// 2.1 vector is compared exactly as over TLS.

// encode2 converts a 2.x TTLV request message to the connection's text
// encoding through a generic value.
func (c *HTTPConn) encode2(req []byte) ([]byte, error) {
	var v ttlv.Value
	if err := ttlv.UnmarshalTTLV(req, &v); err != nil {
		return nil, fmt.Errorf("conformance: decode 2.x request for %s: %w", c.enc, err)
	}
	if c.enc == EncodingXML {
		return ttlv.MarshalXML(v), nil
	}
	return ttlv.MarshalJSON(v), nil
}

// decode2 converts a text response to TTLV through a generic value when it
// is a 2.x response message; ok is false otherwise.
func decode2(unmarshal func([]byte, any) error, resp []byte) ([]byte, bool) {
	var v ttlv.Value
	if err := unmarshal(resp, &v); err != nil || v.Tag != kmip.TagResponseMessage {
		return nil, false
	}
	header := field(v, kmip.TagResponseHeader)
	pv := field(header, kmip.TagProtocolVersion)
	major := field(pv, kmip.TagProtocolVersionMajor)
	if n, _ := major.Value.(int32); n != 2 {
		return nil, false
	}
	return ttlv.MarshalTTLV(v), true
}

// field returns the first item of a structure value with the tag, or a
// zero value.
func field(v ttlv.Value, tag int) ttlv.Value {
	s, _ := v.Value.(ttlv.Struct)
	for _, f := range s {
		if f.Tag == tag {
			return f
		}
	}
	return ttlv.Value{}
}
