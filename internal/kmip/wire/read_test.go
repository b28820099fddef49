package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// hdr builds an 8-byte header with an arbitrary declared length.
func hdr(tag uint32, typ Type, length uint32) []byte {
	b := []byte{byte(tag >> 16), byte(tag >> 8), byte(tag), byte(typ)}
	return binary.BigEndian.AppendUint32(b, length)
}

// errReader returns its error after the data.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadMessage(t *testing.T) {
	req := handRequest(0x0A, item(tagUniqueIdentifier, TypeTextString, []byte("key-1")))
	resp := structure(TagResponseMessage, integer(tagBatchCount, 1))
	ioErr := errors.New("connection reset")
	tests := []struct {
		name    string
		in      io.Reader
		tag     uint32
		max     int
		want    []byte
		wantErr error
		invalid bool // the error must match ErrInvalid
	}{
		{name: "request", in: bytes.NewReader(req), tag: TagRequestMessage, want: req},
		{name: "response_with_tag_variant", in: bytes.NewReader(resp), tag: TagResponseMessage, want: resp},
		{name: "exactly_max", in: bytes.NewReader(req), tag: TagRequestMessage, max: len(req), want: req},
		{name: "one_over_max", in: bytes.NewReader(req), tag: TagRequestMessage, max: len(req) - 1, wantErr: ErrTooLarge, invalid: true},
		{name: "max_below_header", in: bytes.NewReader(req), tag: TagRequestMessage, max: 4, wantErr: ErrTooLarge, invalid: true},
		{name: "empty_stream_is_eof", in: bytes.NewReader(nil), tag: TagRequestMessage, wantErr: io.EOF},
		{name: "partial_header", in: bytes.NewReader(req[:5]), tag: TagRequestMessage, wantErr: ErrTruncated, invalid: true},
		{name: "partial_value", in: bytes.NewReader(req[:len(req)-3]), tag: TagRequestMessage, wantErr: ErrTruncated, invalid: true},
		{name: "header_only", in: bytes.NewReader(req[:8]), tag: TagRequestMessage, wantErr: ErrTruncated, invalid: true},
		{name: "not_structure", in: bytes.NewReader(integer(TagRequestMessage, 1)), tag: TagRequestMessage, wantErr: ErrNotStructure, invalid: true},
		{name: "response_when_request_wanted", in: bytes.NewReader(resp), tag: TagRequestMessage, wantErr: ErrUnexpectedTag, invalid: true},
		{name: "garbage", in: bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")), tag: TagRequestMessage, wantErr: ErrNotStructure, invalid: true},
		{name: "reader_error_in_header", in: &errReader{data: req[:3], err: ioErr}, tag: TagRequestMessage, wantErr: ioErr},
		{name: "reader_error_in_value", in: &errReader{data: req[:20], err: ioErr}, tag: TagRequestMessage, wantErr: ioErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadMessageTag(tc.in, tc.tag, tc.max)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, ErrInvalid) != tc.invalid {
					t.Fatalf("errors.Is(%v, ErrInvalid) = %v, want %v", err, !tc.invalid, tc.invalid)
				}
				if tc.wantErr == io.EOF && err != io.EOF {
					t.Fatalf("end of stream must be io.EOF itself, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

func TestReadMessageStopsAtMessageEnd(t *testing.T) {
	a := handRequest(0x0A, item(tagUniqueIdentifier, TypeTextString, []byte("a")))
	b := handRequest(0x0A, item(tagUniqueIdentifier, TypeTextString, []byte("bb")))
	r := bytes.NewReader(append(append([]byte(nil), a...), b...))
	for i, want := range [][]byte{a, b} {
		got, err := ReadMessage(r, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: err %v", i, err)
		}
	}
	if _, err := ReadMessage(r, 0); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func TestReadMessageHugeLengthDoesNotAllocate(t *testing.T) {
	for _, length := range []uint32{0xFFFFFFFF, 0xFFFFFFF8, 1<<20 + 1} {
		// Only the header is there: reading the value would fail with
		// ErrTruncated, so ErrTooLarge proves the length was refused first.
		g := bytes.NewReader(hdr(TagRequestMessage, TypeStructure, length))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadMessage(g, 1<<20)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("length %d: err = %v, want ErrTooLarge", length, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
			t.Fatalf("length %d: allocated %d bytes", length, grew)
		}
	}
}
