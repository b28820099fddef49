// Package wire frames and validates KMIP TTLV messages without trusting a
// decoder: it reads exactly one length-prefixed message from a stream,
// refusing oversized ones before allocating, and walks the whole TTLV tree
// checking every item against the encoding rules of KMIP 1.x section 9.1.
//
// A message that Validate accepts is safe to hand to the ovh/kmip-go v0.8.1
// TTLV decoder: FuzzValidate (raw bytes) and FuzzValidateTree (well-framed
// trees built from real requests) check that it never panics on one. The
// few field rules this needs are in fields.go. The package is pure: no I/O
// beyond the io.Reader it is given, no logging, no global state.
package wire

import (
	"errors"
	"fmt"
)

// Type is a TTLV item type byte.
type Type byte

// The TTLV item types of KMIP 1.x (section 9.1.1.2).
const (
	TypeStructure   Type = 0x01
	TypeInteger     Type = 0x02
	TypeLongInteger Type = 0x03
	TypeBigInteger  Type = 0x04
	TypeEnumeration Type = 0x05
	TypeBoolean     Type = 0x06
	TypeTextString  Type = 0x07
	TypeByteString  Type = 0x08
	TypeDateTime    Type = 0x09
	TypeInterval    Type = 0x0A
)

var typeNames = [...]string{
	TypeStructure:   "Structure",
	TypeInteger:     "Integer",
	TypeLongInteger: "LongInteger",
	TypeBigInteger:  "BigInteger",
	TypeEnumeration: "Enumeration",
	TypeBoolean:     "Boolean",
	TypeTextString:  "TextString",
	TypeByteString:  "ByteString",
	TypeDateTime:    "DateTime",
	TypeInterval:    "Interval",
}

// String returns the KMIP name of the type, or Unknown(0xNN).
func (t Type) String() string {
	if t >= TypeStructure && t <= TypeInterval {
		return typeNames[t]
	}
	return fmt.Sprintf("Unknown(0x%02X)", byte(t))
}

// Tags of the two top-level KMIP messages.
const (
	TagRequestMessage  uint32 = 0x420078
	TagResponseMessage uint32 = 0x42007B
)

// HeaderLen is the size of a TTLV item header: 3-byte tag, 1-byte type,
// 4-byte big-endian length.
const HeaderLen = 8

// DefaultMaxMessageSize is the largest message, header included, that
// ReadMessage accepts when given a non-positive max.
const DefaultMaxMessageSize = 1 << 20

// ErrInvalid is matched by errors.Is for every error of this package that
// reports a malformed message (as opposed to an I/O error of the reader).
// A server answers those with a KMIP "Invalid Message" response.
var ErrInvalid = errors.New("wire: invalid message")

// The individual reasons a message is refused. Each one also matches ErrInvalid.
var (
	ErrTooLarge      = newInvalid("message too large")
	ErrNotStructure  = newInvalid("message is not a structure")
	ErrUnexpectedTag = newInvalid("unexpected message tag")
	ErrTruncated     = newInvalid("message truncated")
	ErrBadType       = newInvalid("unknown item type")
	ErrBadTag        = newInvalid("tag outside the KMIP ranges")
	ErrBadLength     = newInvalid("bad item length")
	ErrBadPadding    = newInvalid("non-zero padding")
	ErrBadBoolean    = newInvalid("boolean neither 0 nor 1")
	ErrBadUTF8       = newInvalid("text string not valid UTF-8")
	ErrTooDeep       = newInvalid("structures nested too deep")
	ErrTooManyItems  = newInvalid("too many items")
	ErrTrailing      = newInvalid("bytes after the message")
	ErrBadField      = newInvalid("field has the wrong type or shape")
)

// invalidError is a sentinel reason that also matches ErrInvalid.
type invalidError struct{ msg string }

func newInvalid(msg string) error { return &invalidError{msg: msg} }

func (e *invalidError) Error() string { return "wire: " + e.msg }

// Is makes every reason match ErrInvalid.
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// ItemError locates a validation failure in a message. It never carries
// item values, only positions, tags and lengths, so it is safe to log.
type ItemError struct {
	// Offset is the byte offset of the item header in the message.
	Offset int
	// Tag and Type are the item's tag and type as read from its header.
	Tag  uint32
	Type Type
	// Detail says what was wrong, without values.
	Detail string
	// Err is the reason, one of the Err* variables of this package.
	Err error
}

// Error describes the failure with its position.
func (e *ItemError) Error() string {
	return fmt.Sprintf("%v: item at offset %d (tag 0x%06X, type %s): %s", e.Err, e.Offset, e.Tag, e.Type, e.Detail)
}

// Unwrap returns the reason.
func (e *ItemError) Unwrap() error { return e.Err }
