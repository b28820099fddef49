package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ReadMessage reads one KMIP request message (tag 0x420078) from r and
// returns it whole, header included. See ReadMessageTag.
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	return ReadMessageTag(r, TagRequestMessage, max)
}

// ReadMessageTag reads one TTLV message whose top-level item must be a
// Structure with the given tag, and returns it whole, header included.
//
// max bounds the whole message (header included); a non-positive max means
// DefaultMaxMessageSize. The declared length is checked against max before
// anything is allocated, so a header claiming 4 GiB costs nothing.
//
// If r is at end of stream before the first byte, ReadMessageTag returns
// io.EOF unwrapped. A stream that ends inside the message gives
// ErrTruncated. Other reader errors (timeouts, closed connections) are
// returned wrapped, and do not match ErrInvalid. ReadMessageTag reads no
// byte past the end of the message.
func ReadMessageTag(r io.Reader, tag uint32, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	var hdr [HeaderLen]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil {
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return nil, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("wire: read header: got %d of %d bytes: %w", n, HeaderLen, ErrTruncated)
		default:
			return nil, fmt.Errorf("wire: read header: %w", err)
		}
	}
	gotTag, typ, length := parseHeader(hdr[:])
	if typ != TypeStructure {
		return nil, fmt.Errorf("wire: read header: type %s: %w", typ, ErrNotStructure)
	}
	if gotTag != tag {
		return nil, fmt.Errorf("wire: read header: tag 0x%06X, want 0x%06X: %w", gotTag, tag, ErrUnexpectedTag)
	}
	// Compare in uint64 so that no length overflows on any platform.
	if max < HeaderLen || uint64(length) > uint64(max-HeaderLen) {
		return nil, fmt.Errorf("wire: read header: length %d exceeds limit %d: %w", length, max, ErrTooLarge)
	}
	msg := make([]byte, HeaderLen+int(length))
	copy(msg, hdr[:])
	n, err = io.ReadFull(r, msg[HeaderLen:])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("wire: read value: got %d of %d bytes: %w", n, length, ErrTruncated)
		}
		return nil, fmt.Errorf("wire: read value: %w", err)
	}
	return msg, nil
}

// parseHeader splits an 8-byte item header. b must hold at least HeaderLen bytes.
func parseHeader(b []byte) (tag uint32, typ Type, length uint32) {
	tag = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	return tag, Type(b[3]), binary.BigEndian.Uint32(b[4:8])
}
