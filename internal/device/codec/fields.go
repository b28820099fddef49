package codec

import (
	"encoding/binary"
	"fmt"
)

// Tag identifies a typed field of a message body. Each field is encoded as
// a 1-byte tag, a 2-byte big-endian length and the value; fields appear in
// strictly ascending tag order, each at most once.
type Tag byte

// Field tags. The table fieldKinds below fixes each one's kind and size.
const (
	TagDeviceSerial  Tag = 0x01 // drive or array serial number, text
	TagWWN           Tag = 0x02 // drive world-wide name, text
	TagVolser        Tag = 0x03 // volume serial (cartridge label), text
	TagLabel1        Tag = 0x04 // requested first key label, text
	TagLabel2        Tag = 0x05 // requested second key label, text
	TagEncoding1     Tag = 0x06 // requested encoding of the first EEDK's key reference
	TagEncoding2     Tag = 0x07 // requested encoding of the second EEDK's key reference
	TagKeyAlias      Tag = 0x08 // LTO key alias asked for, text
	TagKeyID         Tag = 0x09 // LTO key identifier written on the tape, text
	TagEEDK1Encoding Tag = 0x10 // first EEDK: encoding of its key reference
	TagEEDK1KeyRef   Tag = 0x11 // first EEDK: key label (L) or public-key hash (H)
	TagEEDK1Data     Tag = 0x12 // first EEDK: the wrapped data key
	TagEEDK2Encoding Tag = 0x13 // second EEDK: encoding of its key reference
	TagEEDK2KeyRef   Tag = 0x14 // second EEDK: key label (L) or public-key hash (H)
	TagEEDK2Data     Tag = 0x15 // second EEDK: the wrapped data key
	TagWrapAlgorithm Tag = 0x20 // how WrappedKey is wrapped for the device
	TagWrappedKey    Tag = 0x21 // the key wrapped for the device
	TagStatus        Tag = 0x30 // status code of an Error
	TagMessage       Tag = 0x31 // fixed human-readable message of an Error, text
)

var tagNames = map[Tag]string{
	TagDeviceSerial: "DeviceSerial", TagWWN: "WWN", TagVolser: "Volser",
	TagLabel1: "Label1", TagLabel2: "Label2", TagEncoding1: "Encoding1", TagEncoding2: "Encoding2",
	TagKeyAlias: "KeyAlias", TagKeyID: "KeyID",
	TagEEDK1Encoding: "EEDK1Encoding", TagEEDK1KeyRef: "EEDK1KeyRef", TagEEDK1Data: "EEDK1Data",
	TagEEDK2Encoding: "EEDK2Encoding", TagEEDK2KeyRef: "EEDK2KeyRef", TagEEDK2Data: "EEDK2Data",
	TagWrapAlgorithm: "WrapAlgorithm", TagWrappedKey: "WrappedKey",
	TagStatus: "Status", TagMessage: "Message",
}

// String returns the field's name and tag, e.g. "Volser(0x03)".
func (t Tag) String() string {
	if n, ok := tagNames[t]; ok {
		return fmt.Sprintf("%s(%#02x)", n, byte(t))
	}
	return fmt.Sprintf("unknown(%#02x)", byte(t))
}

// Size limits of field values, in bytes.
const (
	MaxSerialLen  = 64   // DeviceSerial, WWN
	MaxVolserLen  = 32   // Volser
	MaxLabelLen   = 64   // Label1, Label2, KeyAlias, an L key reference
	MaxKeyIDLen   = 128  // KeyID
	MaxMessageLen = 256  // Message
	MaxWrappedLen = 1024 // EEDK data, WrappedKey
	KeyHashLen    = 32   // an H key reference: SHA-256 of the public key's SubjectPublicKeyInfo
)

type kind int

const (
	kindText  kind = iota // printable ASCII 0x20–0x7E, 1..max bytes
	kindBytes             // opaque, 1..max bytes
	kindEnum              // exactly one byte from a fixed set
)

type fieldKind struct {
	kind  kind
	max   int
	valid func(byte) bool // kindEnum only
}

func validEncoding(b byte) bool { return Encoding(b) == EncodingLabel || Encoding(b) == EncodingHash }
func validAlgorithm(b byte) bool {
	return WrapAlgorithm(b) == WrapRSAOAEPSHA256 || WrapAlgorithm(b) == WrapECDHP256
}
func validStatus(b byte) bool { return b >= byte(StatusBadRequest) && b <= byte(StatusInternal) }

var fieldKinds = map[Tag]fieldKind{
	TagDeviceSerial:  {kind: kindText, max: MaxSerialLen},
	TagWWN:           {kind: kindText, max: MaxSerialLen},
	TagVolser:        {kind: kindText, max: MaxVolserLen},
	TagLabel1:        {kind: kindText, max: MaxLabelLen},
	TagLabel2:        {kind: kindText, max: MaxLabelLen},
	TagEncoding1:     {kind: kindEnum, valid: validEncoding},
	TagEncoding2:     {kind: kindEnum, valid: validEncoding},
	TagKeyAlias:      {kind: kindText, max: MaxLabelLen},
	TagKeyID:         {kind: kindText, max: MaxKeyIDLen},
	TagEEDK1Encoding: {kind: kindEnum, valid: validEncoding},
	TagEEDK1KeyRef:   {kind: kindBytes, max: MaxLabelLen},
	TagEEDK1Data:     {kind: kindBytes, max: MaxWrappedLen},
	TagEEDK2Encoding: {kind: kindEnum, valid: validEncoding},
	TagEEDK2KeyRef:   {kind: kindBytes, max: MaxLabelLen},
	TagEEDK2Data:     {kind: kindBytes, max: MaxWrappedLen},
	TagWrapAlgorithm: {kind: kindEnum, valid: validAlgorithm},
	TagWrappedKey:    {kind: kindBytes, max: MaxWrappedLen},
	TagStatus:        {kind: kindEnum, valid: validStatus},
	TagMessage:       {kind: kindText, max: MaxMessageLen},
}

// checkValue validates one field value against its tag's kind.
func checkValue(tag Tag, v []byte) error {
	k, ok := fieldKinds[tag]
	if !ok {
		return malformed(tag, "unknown tag")
	}
	switch k.kind {
	case kindEnum:
		if len(v) != 1 {
			return malformed(tag, "length %d, want 1", len(v))
		}
		if !k.valid(v[0]) {
			return malformed(tag, "invalid value %#02x", v[0])
		}
	case kindText, kindBytes:
		if len(v) == 0 || len(v) > k.max {
			return malformed(tag, "length %d, want 1..%d", len(v), k.max)
		}
		if k.kind == kindText && !printable(v) {
			return malformed(tag, "not printable ASCII")
		}
	}
	return nil
}

func printable(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// fieldSet holds the fields of one body by tag; absent fields have no entry.
type fieldSet map[Tag][]byte

func (s fieldSet) putText(t Tag, v string) {
	if v != "" {
		s[t] = []byte(v)
	}
}

func (s fieldSet) putBytes(t Tag, v []byte) {
	if len(v) > 0 {
		s[t] = v
	}
}

func (s fieldSet) putByte(t Tag, v byte) {
	if v != 0 {
		s[t] = []byte{v}
	}
}

func (s fieldSet) text(t Tag) string { return string(s[t]) }

func (s fieldSet) bytes(t Tag) []byte {
	v, ok := s[t]
	if !ok {
		return nil
	}
	return append([]byte(nil), v...)
}

func (s fieldSet) byte(t Tag) byte {
	if v := s[t]; len(v) == 1 {
		return v[0]
	}
	return 0
}

// parseBody splits a body into fields, refusing truncation, unknown tags,
// repeated tags, tags out of ascending order and invalid values.
func parseBody(body []byte) (fieldSet, error) {
	s := fieldSet{}
	prev := -1
	for off := 0; off < len(body); {
		if len(body)-off < 3 {
			return nil, malformed(0, "truncated field header at offset %d", off)
		}
		tag := Tag(body[off])
		n := int(binary.BigEndian.Uint16(body[off+1 : off+3]))
		off += 3
		if n > len(body)-off {
			return nil, malformed(tag, "length %d exceeds the %d bytes left", n, len(body)-off)
		}
		if _, known := fieldKinds[tag]; !known {
			return nil, malformed(tag, "unknown tag")
		}
		if int(tag) == prev {
			return nil, malformed(tag, "repeated")
		}
		if int(tag) < prev {
			return nil, malformed(tag, "out of ascending tag order")
		}
		v := body[off : off+n]
		if err := checkValue(tag, v); err != nil {
			return nil, err
		}
		s[tag] = v
		prev = int(tag)
		off += n
	}
	return s, nil
}

// appendBody writes the fields of s in ascending tag order.
func appendBody(dst []byte, s fieldSet) []byte {
	for t := 0; t < 256; t++ {
		v, ok := s[Tag(t)]
		if !ok {
			continue
		}
		dst = append(dst, byte(t), byte(len(v)>>8), byte(len(v)))
		dst = append(dst, v...)
	}
	return dst
}
