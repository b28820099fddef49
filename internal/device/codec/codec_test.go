package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func rid(b byte) RequestID {
	var id RequestID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

func hash32() []byte { return bytes.Repeat([]byte{0xAB}, KeyHashLen) }

func eedkL(label string) EEDK {
	return EEDK{Encoding: EncodingLabel, KeyRef: []byte(label), Data: bytes.Repeat([]byte{0x11}, 256)}
}

func eedkH() EEDK {
	return EEDK{Encoding: EncodingHash, KeyRef: hash32(), Data: bytes.Repeat([]byte{0x22}, 512)}
}

func rsaKey() WrappedKey {
	return WrappedKey{Algorithm: WrapRSAOAEPSHA256, Ciphertext: bytes.Repeat([]byte{0x33}, 256)}
}

func ecKey() WrappedKey {
	return WrappedKey{Algorithm: WrapECDHP256, Ciphertext: bytes.Repeat([]byte{0x44}, 65+32+16)}
}

// sampleMessages holds at least one valid message of every type, with and
// without optional fields; they are also the fuzz seeds.
func sampleMessages() []struct {
	name string
	msg  Message
} {
	return []struct {
		name string
		msg  Message
	}{
		{"write request minimal", WriteKeyRequest{RequestID: rid(1), DriveSerial: "0000078A1234", WWN: "500507630F123456", Volser: "VOL001"}},
		{"write request full", WriteKeyRequest{RequestID: rid(2), DriveSerial: "0000078A1234", WWN: "500507630F123456", Volser: "VOL001",
			Label1: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", Label2: "partner", Encoding1: EncodingLabel, Encoding2: EncodingHash}},
		{"write response", WriteKeyResponse{RequestID: rid(3), EEDK1: eedkL("label-a"), EEDK2: eedkH(), Key: rsaKey()}},
		{"read request", ReadKeyRequest{RequestID: rid(4), DriveSerial: "D1", Volser: "VOL001", EEDK1: eedkL("label-a"), EEDK2: eedkH()}},
		{"read request with wwn", ReadKeyRequest{RequestID: rid(5), DriveSerial: "D1", WWN: "W", Volser: "V", EEDK1: eedkH(), EEDK2: eedkL("b")}},
		{"read response", ReadKeyResponse{RequestID: rid(6), Key: ecKey()}},
		{"rekey request", RekeyRequest{RequestID: rid(7), DriveSerial: "D1", Volser: "V", Label1: "new1", Label2: "partner",
			Encoding2: EncodingHash, EEDK1: eedkL("old1"), EEDK2: eedkL("old2")}},
		{"rekey response", RekeyResponse{RequestID: rid(8), EEDK1: eedkL("new1"), EEDK2: eedkH()}},
		{"lto write request", LTOWriteRequest{RequestID: rid(9), DriveSerial: "LTO1", Volser: "L00001"}},
		{"lto write request alias", LTOWriteRequest{RequestID: rid(10), DriveSerial: "LTO1", Volser: "L00001", KeyAlias: "des0a"}},
		{"lto write response", LTOWriteResponse{RequestID: rid(11), KeyID: "des0a-4b1f", Key: rsaKey()}},
		{"lto read request", LTOReadRequest{RequestID: rid(12), DriveSerial: "LTO1", KeyID: "des0a-4b1f"}},
		{"lto read request volser", LTOReadRequest{RequestID: rid(13), DriveSerial: "LTO1", Volser: "L00001", KeyID: "k"}},
		{"lto read response", LTOReadResponse{RequestID: rid(14), Key: ecKey()}},
		{"disk key create request", DiskKeyCreateRequest{RequestID: rid(15), ArraySerial: "75-ABC12"}},
		{"disk key create response", DiskKeyCreateResponse{RequestID: rid(16), EEDK1: eedkL("disk1"), EEDK2: eedkL("disk2"), Key: rsaKey()}},
		{"disk unlock request one eedk", DiskUnlockRequest{RequestID: rid(17), ArraySerial: "75-ABC12", EEDK1: eedkL("disk1")}},
		{"disk unlock request two eedks", DiskUnlockRequest{RequestID: rid(18), ArraySerial: "75-ABC12", EEDK1: eedkL("disk1"), EEDK2: eedkH()}},
		{"disk unlock response", DiskUnlockResponse{RequestID: rid(19), Key: rsaKey()}},
		{"error", Error{RequestID: rid(20), Status: StatusNotFound, Message: "key label not found"}},
		{"error internal", Error{RequestID: rid(21), Status: StatusInternal, Message: "internal error"}},
	}
}

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	for _, tc := range sampleMessages() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, tc.msg)
			}
			if got.Type() != tc.msg.Type() || got.ID() != tc.msg.ID() {
				t.Fatalf("type/id %v/%x, want %v/%x", got.Type(), got.ID(), tc.msg.Type(), tc.msg.ID())
			}
			again, err := Encode(got)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encode differs (err %v)", err)
			}
			read, err := ReadMessage(bytes.NewReader(append(append([]byte(nil), b...), 0xEE)), 0)
			if err != nil || !bytes.Equal(read, b) {
				t.Fatalf("ReadMessage: %v", err)
			}
			seen[tc.msg.Type()] = true
		})
	}
	for ty := range specs {
		if !seen[ty] {
			t.Errorf("no round-trip case for %v", ty)
		}
	}
}

func TestEncodePointer(t *testing.T) {
	m := &LTOReadRequest{RequestID: rid(1), DriveSerial: "D", KeyID: "K"}
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode pointer: %v", err)
	}
	got, err := Decode(b)
	if err != nil || !reflect.DeepEqual(got, *m) {
		t.Fatalf("Decode: %v %#v", err, got)
	}
	var nilMsg *LTOReadRequest
	if _, err := Encode(nilMsg); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil pointer: %v, want ErrMalformed", err)
	}
	if _, err := Encode(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil: %v, want ErrMalformed", err)
	}
}

func TestDecodeCopies(t *testing.T) {
	b, err := Encode(ReadKeyResponse{RequestID: rid(1), Key: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := HeaderSize; i < len(b); i++ {
		b[i] = 0
	}
	if !bytes.Equal(m.(ReadKeyResponse).Key.Ciphertext, rsaKey().Ciphertext) {
		t.Fatal("decoded message aliases the input buffer")
	}
}

// frame builds a frame by hand: header fields and raw body.
func frame(ty Type, body []byte) []byte {
	b := []byte(Magic)
	b = append(b, Version, byte(ty), 0, 0)
	id := rid(9)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// tlv builds one field.
func tlv(tag Tag, v []byte) []byte {
	b := []byte{byte(tag), byte(len(v) >> 8), byte(len(v))}
	return append(b, v...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeRefuses(t *testing.T) {
	serial := tlv(TagDeviceSerial, []byte("D1"))
	valid := frame(TypeDiskKeyCreateRequest, serial)
	if _, err := Decode(valid); err != nil {
		t.Fatalf("baseline frame refused: %v", err)
	}
	set := func(i int, v byte) []byte { b := append([]byte(nil), valid...); b[i] = v; return b }
	tooBig := append([]byte(nil), valid...)
	binary.BigEndian.PutUint32(tooBig[24:28], MaxMessageSize)
	lto := func(fields ...[]byte) []byte { return frame(TypeLTOReadRequest, cat(fields...)) }
	errBody := func(status byte) []byte {
		return frame(TypeError, cat(tlv(TagStatus, []byte{status}), tlv(TagMessage, []byte("m"))))
	}
	eedk := func(enc byte, ref []byte) []byte {
		return frame(TypeDiskUnlockRequest, cat(serial, tlv(TagEEDK1Encoding, []byte{enc}),
			tlv(TagEEDK1KeyRef, ref), tlv(TagEEDK1Data, []byte{1})))
	}
	tests := []struct {
		name    string
		in      []byte
		want    error
		wantTag Tag
	}{
		{"empty", nil, ErrMalformed, 0},
		{"short header", valid[:HeaderSize-1], ErrMalformed, 0},
		{"bad magic", set(0, 'X'), ErrBadMagic, 0},
		{"version 0", set(4, 0), ErrUnsupportedVersion, 0},
		{"version 2", set(4, 2), ErrUnsupportedVersion, 0},
		{"flags set", set(6, 1), ErrMalformed, 0},
		{"reserved set", set(7, 1), ErrMalformed, 0},
		{"declared too large", tooBig, ErrTooLarge, 0},
		{"unknown type", set(5, 0x42), ErrMalformed, 0},
		{"trailing byte", append(append([]byte(nil), valid...), 0), ErrMalformed, 0},
		{"truncated body", valid[:len(valid)-1], ErrMalformed, 0},
		{"truncated field header", frame(TypeDiskKeyCreateRequest, cat(serial, []byte{0x02, 0})), ErrMalformed, 0},
		{"field length past end", frame(TypeDiskKeyCreateRequest, []byte{0x01, 0, 9, 'D'}), ErrMalformed, TagDeviceSerial},
		{"unknown tag", frame(TypeDiskKeyCreateRequest, cat(serial, tlv(0x7F, []byte{1}))), ErrMalformed, 0x7F},
		{"repeated tag", lto(serial, serial, tlv(TagKeyID, []byte("k"))), ErrMalformed, TagDeviceSerial},
		{"out of order", lto(tlv(TagKeyID, []byte("k")), serial), ErrMalformed, TagDeviceSerial},
		{"field not of type", frame(TypeDiskKeyCreateRequest, cat(serial, tlv(TagVolser, []byte("V")))), ErrMalformed, TagVolser},
		{"missing required", lto(serial), ErrMalformed, TagKeyID},
		{"empty value", lto(serial, tlv(TagVolser, nil), tlv(TagKeyID, []byte("k"))), ErrMalformed, TagVolser},
		{"text too long", lto(serial, tlv(TagVolser, bytes.Repeat([]byte("V"), MaxVolserLen+1)), tlv(TagKeyID, []byte("k"))), ErrMalformed, TagVolser},
		{"text not printable", lto(serial, tlv(TagKeyID, []byte("k\n"))), ErrMalformed, TagKeyID},
		{"status ok on wire", errBody(0), ErrMalformed, TagStatus},
		{"status unknown", errBody(8), ErrMalformed, TagStatus},
		{"enum two bytes", frame(TypeError, cat(tlv(TagStatus, []byte{1, 1}), tlv(TagMessage, []byte("m")))), ErrMalformed, TagStatus},
		{"bad encoding", eedk('X', []byte("a")), ErrMalformed, TagEEDK1Encoding},
		{"hash ref wrong size", eedk('H', []byte("abc")), ErrMalformed, TagEEDK1KeyRef},
		{"label ref not printable", eedk('L', []byte{0}), ErrMalformed, TagEEDK1KeyRef},
		{"partial eedk", frame(TypeDiskUnlockRequest, cat(serial, tlv(TagEEDK1Encoding, []byte{'L'}), tlv(TagEEDK1KeyRef, []byte("a")))), ErrMalformed, TagEEDK1Data},
		{"bad wrap algorithm", frame(TypeReadKeyResponse, cat(tlv(TagWrapAlgorithm, []byte{3}), tlv(TagWrappedKey, []byte{1}))), ErrMalformed, TagWrapAlgorithm},
		{"wrapped too long", frame(TypeReadKeyResponse, cat(tlv(TagWrapAlgorithm, []byte{1}), tlv(TagWrappedKey, make([]byte, MaxWrappedLen+1)))), ErrMalformed, TagWrappedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want %v", m, err, tc.want)
			}
			if m != nil {
				t.Fatalf("Decode returned a message with an error: %#v", m)
			}
			var fe *FieldError
			if tc.wantTag != 0 && (!errors.As(err, &fe) || fe.Tag != tc.wantTag) {
				t.Fatalf("error %v does not name field %v", err, tc.wantTag)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		msg     Message
		wantTag Tag
	}{
		{"missing volser", WriteKeyRequest{DriveSerial: "D", WWN: "W"}, TagVolser},
		{"bad encoding", WriteKeyRequest{DriveSerial: "D", WWN: "W", Volser: "V", Encoding1: 'X'}, TagEncoding1},
		{"label too long", WriteKeyRequest{DriveSerial: "D", WWN: "W", Volser: "V", Label1: strings.Repeat("a", MaxLabelLen+1)}, TagLabel1},
		{"control character", LTOWriteRequest{DriveSerial: "D\x00", Volser: "V"}, TagDeviceSerial},
		{"missing eedk2", ReadKeyRequest{DriveSerial: "D", Volser: "V", EEDK1: eedkH()}, TagEEDK2Encoding},
		{"partial eedk2", DiskUnlockRequest{ArraySerial: "A", EEDK1: eedkH(), EEDK2: EEDK{Encoding: EncodingHash, KeyRef: hash32()}}, TagEEDK2Data},
		{"hash ref wrong size", RekeyResponse{EEDK1: eedkL("a"), EEDK2: EEDK{Encoding: EncodingHash, KeyRef: []byte("x"), Data: []byte{1}}}, TagEEDK2KeyRef},
		{"missing algorithm", LTOReadResponse{Key: WrappedKey{Ciphertext: []byte{1}}}, TagWrapAlgorithm},
		{"missing ciphertext", DiskUnlockResponse{Key: WrappedKey{Algorithm: WrapECDHP256}}, TagWrappedKey},
		{"status ok", Error{Status: StatusOK, Message: "m"}, TagStatus},
		{"empty message", Error{Status: StatusInternal}, TagMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(tc.msg)
			var fe *FieldError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &fe) || fe.Tag != tc.wantTag {
				t.Fatalf("Encode = %x, %v; want ErrMalformed on %v", b, err, tc.wantTag)
			}
		})
	}
}

func TestReadMessage(t *testing.T) {
	good, err := Encode(LTOReadRequest{RequestID: rid(1), DriveSerial: "D", KeyID: "K"})
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(nil), good[:HeaderSize]...)
	binary.BigEndian.PutUint32(huge[24:], 1<<31)
	bad := append([]byte(nil), good...)
	bad[0] = 'k'
	v2 := append([]byte(nil), good...)
	v2[4] = 2
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"clean eof", nil, 0, io.EOF},
		{"eof in header", good[:10], 0, io.ErrUnexpectedEOF},
		{"eof in body", good[:len(good)-1], 0, io.ErrUnexpectedEOF},
		{"bad magic", bad, 0, ErrBadMagic},
		{"bad version", v2, 0, ErrUnsupportedVersion},
		{"declared huge", huge, 0, ErrTooLarge},
		{"over caller max", good, len(good) - 1, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadMessage(bytes.NewReader(tc.in), tc.max)
			if !errors.Is(err, tc.want) || b != nil {
				t.Fatalf("ReadMessage = %d bytes, %v; want %v", len(b), err, tc.want)
			}
		})
	}
	t.Run("exact max", func(t *testing.T) {
		b, err := ReadMessage(bytes.NewReader(good), len(good))
		if err != nil || !bytes.Equal(b, good) {
			t.Fatalf("ReadMessage at exact max: %v", err)
		}
	})
	t.Run("two frames in a stream", func(t *testing.T) {
		r := bytes.NewReader(append(append([]byte(nil), good...), good...))
		for i := 0; i < 2; i++ {
			if b, err := ReadMessage(r, 0); err != nil || !bytes.Equal(b, good) {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
		if _, err := ReadMessage(r, 0); err != io.EOF {
			t.Fatalf("after two frames: %v, want io.EOF", err)
		}
	})
}

// countingReader fails the test if more than limit bytes are read.
type countingReader struct {
	r     io.Reader
	n     int
	limit int
	t     *testing.T
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n > c.limit {
		c.t.Errorf("read %d bytes, more than the %d-byte header", c.n, c.limit)
	}
	return n, err
}

func TestReadMessageStopsAtHeader(t *testing.T) {
	hdr := frame(TypeDiskKeyCreateRequest, nil)
	binary.BigEndian.PutUint32(hdr[24:], MaxMessageSize)
	stream := append(hdr, make([]byte, MaxMessageSize)...)
	cr := &countingReader{r: bytes.NewReader(stream), limit: HeaderSize, t: t}
	if _, err := ReadMessage(cr, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadMessage = %v, want ErrTooLarge", err)
	}
}

func TestParseHeaderKeepsIDForErrors(t *testing.T) {
	b := frame(0x42, nil)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatalf("ParseHeader: %v", err)
	}
	if h.Type != 0x42 || h.RequestID != rid(9) || h.BodyLen != 0 {
		t.Fatalf("header %+v", h)
	}
	if h.Type.IsRequest() || !TypeLTOReadRequest.IsRequest() || TypeLTOReadResponse.IsRequest() {
		t.Fatal("IsRequest wrong")
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{TypeWriteKeyRequest.String(), "WriteKeyRequest"},
		{Type(0x42).String(), "Type(0x42)"},
		{StatusWrongState.String(), "WrongState"},
		{Status(9).String(), "Status(9)"},
		{TagVolser.String(), "Volser(0x03)"},
		{Tag(0x7F).String(), "unknown(0x7f)"},
		{WrapECDHP256.String(), "HPKE-P256-HKDF-SHA256-AES256GCM"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestWrapContext(t *testing.T) {
	got := WrapContext(TypeReadKeyResponse, rid(0))
	want := append([]byte("KWDP v1 wrapped key\x82"), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
	if !bytes.Equal(got, want) {
		t.Fatalf("WrapContext = %q, want %q", got, want)
	}
	if bytes.Equal(got, WrapContext(TypeLTOReadResponse, rid(0))) || bytes.Equal(got, WrapContext(TypeReadKeyResponse, rid(1))) {
		t.Fatal("WrapContext does not depend on type and id")
	}
}
