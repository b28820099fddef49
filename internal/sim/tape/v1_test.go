package tape

import (
	"bytes"
	"errors"
	"testing"
)

// Version 1 images, written by the version 1 writer (testdata), are still read
// and still authenticate their whole header, EEDKs included.
func TestReadsVersion1(t *testing.T) {
	tests := []struct {
		name, file, volser string
		size               int
		key                KeyRef
	}{
		{"3592", "v1-3592.img", "V1OLD", 2*MinBlockSize + 100, eedkRef()},
		{"key identifier", "v1-lto.img", "V1LTO", 100, KeyRef{KeyID: "des01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := readFixture(t, tc.file)
			h, got, err := readImage(img, testKey)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, pattern(tc.size)) {
				t.Fatalf("read %d bytes, want %d bytes of the pattern", len(got), tc.size)
			}
			if h.Version != FormatVersion1 || h.Volser != tc.volser || h.Key.KeyID != tc.key.KeyID {
				t.Fatalf("header: version %d volser %q key id %q", h.Version, h.Volser, h.Key.KeyID)
			}
			if enc, err := h.Encode(); err != nil || !bytes.Equal(enc, img[:len(enc)]) {
				t.Fatalf("header does not re-encode to its bytes: %v", err)
			}
			hdr, _ := splitImage(t, img)
			for i := range hdr {
				b := bytes.Clone(img)
				b[i] ^= 0x01
				if _, _, err := readImage(b, testKey); err == nil {
					t.Fatalf("header byte %d flipped: no error", i)
				}
			}
			wrong := bytes.Clone(testKey)
			wrong[31] ^= 1
			if _, _, err := readImage(img, wrong); !errors.Is(err, ErrTampered) {
				t.Fatalf("wrong key: %v, want ErrTampered", err)
			}
		})
	}
}

// A version 1 header cannot take new EEDKs: its blocks authenticate the old ones.
func TestVersion1RefusesEEDKReplacement(t *testing.T) {
	h, err := ReadHeader(bytes.NewReader(readFixture(t, "v1-3592.img")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WithEEDKs(otherEEDKs(64)); !errors.Is(err, ErrFormat) {
		t.Fatalf("WithEEDKs on version 1: %v, want ErrFormat", err)
	}
}
