package codec

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics, that whatever it accepts
// re-encodes to the identical bytes, and that ReadMessage on the same input
// never panics and agrees on the frame.
func FuzzDecode(f *testing.F) {
	for _, tc := range sampleMessages() {
		b, err := Encode(tc.msg)
		if err != nil {
			f.Fatalf("seed %s: %v", tc.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte(Magic))
	f.Add(frame(TypeDiskKeyCreateRequest, tlv(TagDeviceSerial, []byte("D"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if frameBytes, rerr := ReadMessage(bytes.NewReader(b), 0); err == nil && (rerr != nil || !bytes.Equal(frameBytes, b)) {
			t.Fatalf("Decode accepts but ReadMessage does not return the frame: %v", rerr)
		}
		if err != nil {
			if m != nil {
				t.Fatalf("message %#v returned with error %v", m, err)
			}
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("Decode accepted %x but Encode refuses %#v: %v", b, m, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs:\n in %x\nout %x", b, again)
		}
	})
}
