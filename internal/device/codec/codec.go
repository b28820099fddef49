package codec

import (
	"bytes"
	"fmt"
)

// Encode checks m against the rules of its message type (required fields,
// sizes, printable text, EEDK references) and returns its frame. It refuses
// a nil message and any message that Decode would refuse, so that every frame
// it produces decodes to an equal message. Pointers to the message structs
// are accepted as well as values.
func Encode(m Message) ([]byte, error) {
	m = deref(m)
	if m == nil {
		return nil, fmt.Errorf("codec: encode: %w", malformed(0, "nil message"))
	}
	s := m.fields()
	if err := checkSet(m.Type(), s); err != nil {
		return nil, fmt.Errorf("codec: encode %s: %w", m.Type(), err)
	}
	body := appendBody(nil, s)
	if HeaderSize+len(body) > MaxMessageSize {
		return nil, fmt.Errorf("codec: encode %s: %w", m.Type(), ErrTooLarge)
	}
	var buf bytes.Buffer
	buf.Grow(HeaderSize + len(body))
	appendHeader(&buf, m.Type(), m.ID(), len(body))
	buf.Write(body)
	return buf.Bytes(), nil
}

// Decode parses one whole frame (as returned by ReadMessage) into its typed
// message. The frame must be exactly header plus declared body; fields must
// be known, valid, in ascending tag order, each at most once, and those the
// type requires present. The returned message shares no memory with b.
func Decode(b []byte) (Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if want := HeaderSize + int(h.BodyLen); len(b) != want {
		return nil, malformed(0, "frame of %d bytes, header declares %d", len(b), want)
	}
	if _, ok := specs[h.Type]; !ok {
		return nil, malformed(0, "unknown message type %#02x", byte(h.Type))
	}
	s, err := parseBody(b[HeaderSize:])
	if err != nil {
		return nil, err
	}
	if err := checkSet(h.Type, s); err != nil {
		return nil, err
	}
	return build(h.Type, h.RequestID, s), nil
}

// deref turns a pointer to a message struct into its value, and a nil
// pointer into nil.
func deref(m Message) Message {
	switch p := m.(type) {
	case *WriteKeyRequest:
		return derefPtr(p)
	case *WriteKeyResponse:
		return derefPtr(p)
	case *ReadKeyRequest:
		return derefPtr(p)
	case *ReadKeyResponse:
		return derefPtr(p)
	case *RekeyRequest:
		return derefPtr(p)
	case *RekeyResponse:
		return derefPtr(p)
	case *LTOWriteRequest:
		return derefPtr(p)
	case *LTOWriteResponse:
		return derefPtr(p)
	case *LTOReadRequest:
		return derefPtr(p)
	case *LTOReadResponse:
		return derefPtr(p)
	case *DiskKeyCreateRequest:
		return derefPtr(p)
	case *DiskKeyCreateResponse:
		return derefPtr(p)
	case *DiskUnlockRequest:
		return derefPtr(p)
	case *DiskUnlockResponse:
		return derefPtr(p)
	case *Error:
		return derefPtr(p)
	}
	return m
}

func derefPtr[T Message](p *T) Message {
	if p == nil {
		return nil
	}
	return *p
}
