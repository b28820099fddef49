package tape

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// testKey is a recognisable data key so tests can check it never leaks.
var testKey = []byte("KEYWARDEN-TEST-DATA-KEY-32-BYTES")

func eedkRef() KeyRef {
	return KeyRef{EEDKs: [2]EEDK{
		{Encoding: EncodingLabel, LabelOrHash: "label-one", Wrapped: bytes.Repeat([]byte{0xA1}, 256)},
		{Encoding: EncodingHash, LabelOrHash: "3f2a9c", Wrapped: bytes.Repeat([]byte{0xB2}, 256)},
	}}
}

// writeImage writes data to a new image and returns the image bytes.
func writeImage(t testing.TB, h Header, key, data []byte) []byte {
	t.Helper()
	var img bytes.Buffer
	w, err := NewWriter(&img, h, key)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	// Write in uneven pieces to exercise the buffering.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1000)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return img.Bytes()
}

// readImage reads a whole image the way the simulator does.
func readImage(img, key []byte) (Header, []byte, error) {
	r := bytes.NewReader(img)
	h, err := ReadHeader(r)
	if err != nil {
		return Header{}, nil, err
	}
	dr, err := NewReader(r, h, key)
	if err != nil {
		return h, nil, err
	}
	data, err := io.ReadAll(dr)
	return h, data, err
}

// splitImage returns the header bytes and the block records of a well-formed image.
func splitImage(t *testing.T, img []byte) ([]byte, [][]byte) {
	t.Helper()
	hl := prefixSize + int(binary.BigEndian.Uint32(img[len(Magic)+1:]))
	var recs [][]byte
	for rest := img[hl:]; len(rest) > 0; {
		n := recordPrefix + int(binary.BigEndian.Uint32(rest[1:recordPrefix]))
		recs = append(recs, rest[:n])
		rest = rest[n:]
	}
	return img[:hl], recs
}

func join(hdr []byte, recs ...[]byte) []byte {
	out := bytes.Clone(hdr)
	for _, r := range recs {
		out = append(out, r...)
	}
	return out
}

// pattern returns n bytes of data that differ from block to block.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// readFixture returns a checked-in image from testdata. The version 1
// fixtures were written by the version 1 writer before version 2 existed:
// testKey, the EEDKs of eedkRef (v1-3592.img, volser V1OLD, 2×MinBlockSize+100
// bytes of pattern) or key identifier des01 (v1-lto.img, volser V1LTO, 100
// bytes), block size MinBlockSize.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
