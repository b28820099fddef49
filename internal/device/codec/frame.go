// Package codec is the pure wire format of the keywarden device protocol
// (docs/device-protocol.md): the frame header, the typed fields of a body,
// and one Go struct per request and response message. It does no I/O beyond
// reading one frame from an io.Reader and no cryptography: wrapped keys and
// EEDKs are opaque bytes here. Every input is checked; nothing panics.
package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame layout constants.
const (
	// Magic opens every frame.
	Magic = "KWDP"
	// Version is the only protocol version this package speaks.
	Version byte = 1
	// HeaderSize is the length of the fixed frame header in bytes.
	HeaderSize = 28
	// MaxMessageSize is the largest frame (header and body) accepted or
	// produced, 64 KiB.
	MaxMessageSize = 64 << 10
)

// Errors returned by ReadMessage, ParseHeader, Decode and Encode. Field-level
// problems are *FieldError values, which match ErrMalformed with errors.Is.
var (
	// ErrTooLarge reports a frame whose declared length exceeds the limit.
	ErrTooLarge = errors.New("codec: message too large")
	// ErrBadMagic reports a frame that does not start with "KWDP".
	ErrBadMagic = errors.New("codec: bad magic")
	// ErrUnsupportedVersion reports a frame of a version other than 1.
	ErrUnsupportedVersion = errors.New("codec: unsupported version")
	// ErrMalformed reports any other violation of the wire format.
	ErrMalformed = errors.New("codec: malformed message")
)

// FieldError is a malformation tied to one field (Tag 0 when it concerns the
// header or body as a whole). It matches ErrMalformed with errors.Is.
type FieldError struct {
	Tag    Tag
	Reason string
}

// Error describes the malformation.
func (e *FieldError) Error() string {
	if e.Tag == 0 {
		return "codec: malformed message: " + e.Reason
	}
	return fmt.Sprintf("codec: malformed message: field %s: %s", e.Tag, e.Reason)
}

// Is makes a FieldError match ErrMalformed.
func (e *FieldError) Is(target error) bool { return target == ErrMalformed }

func malformed(tag Tag, format string, args ...any) error {
	return &FieldError{Tag: tag, Reason: fmt.Sprintf(format, args...)}
}

// RequestID is chosen at random by the client for each request and reused
// unchanged for every retry of that request, so that a server (or the next
// server after a failover) answers a retry with the same result.
type RequestID [16]byte

// Header is the fixed 28-byte frame header.
type Header struct {
	Type      Type
	Flags     byte // reserved: zero in version 1
	RequestID RequestID
	BodyLen   uint32
}

// ParseHeader checks and returns the header at the start of b, which must
// hold at least HeaderSize bytes. It refuses a bad magic, another version,
// non-zero flags or reserved byte, and a body that would exceed
// MaxMessageSize. It does not check the message type, so that a server can
// still answer an unknown type with an Error carrying the request id.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, malformed(0, "short header: %d bytes", len(b))
	}
	if string(b[0:4]) != Magic {
		return h, ErrBadMagic
	}
	if b[4] != Version {
		return h, fmt.Errorf("%w: %d", ErrUnsupportedVersion, b[4])
	}
	h.Type = Type(b[5])
	h.Flags = b[6]
	copy(h.RequestID[:], b[8:24])
	h.BodyLen = binary.BigEndian.Uint32(b[24:28])
	if uint64(h.BodyLen)+HeaderSize > MaxMessageSize {
		return h, fmt.Errorf("%w: body of %d bytes", ErrTooLarge, h.BodyLen)
	}
	if h.Flags != 0 {
		return h, malformed(0, "flags %#02x set; none are defined in version 1", h.Flags)
	}
	if b[7] != 0 {
		return h, malformed(0, "reserved header byte is %#02x, not zero", b[7])
	}
	return h, nil
}

// ReadMessage reads exactly one frame from r and returns it whole (header
// and body), ready for Decode. max bounds the frame size; a value below
// HeaderSize or above MaxMessageSize means MaxMessageSize. The header is
// checked before the body is allocated: a bad magic, another version or a
// declared length over max is refused without reading further. A clean end
// of stream before the first byte returns io.EOF; a frame cut short returns
// an error wrapping io.ErrUnexpectedEOF.
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	if max < HeaderSize || max > MaxMessageSize {
		max = MaxMessageSize
	}
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("codec: read header: %w", err)
	}
	h, err := ParseHeader(hdr[:])
	if err != nil {
		return nil, err
	}
	if uint64(h.BodyLen)+HeaderSize > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, uint64(h.BodyLen)+HeaderSize, max)
	}
	frame := make([]byte, HeaderSize+int(h.BodyLen))
	copy(frame, hdr[:])
	if _, err := io.ReadFull(r, frame[HeaderSize:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("codec: read body: %w", err)
	}
	return frame, nil
}

// appendHeader writes the header of a frame of type t with the given body.
func appendHeader(buf *bytes.Buffer, t Type, id RequestID, bodyLen int) {
	buf.WriteString(Magic)
	buf.WriteByte(Version)
	buf.WriteByte(byte(t))
	buf.WriteByte(0) // flags
	buf.WriteByte(0) // reserved
	buf.Write(id[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(bodyLen))
	buf.Write(n[:])
}
