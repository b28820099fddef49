package tape

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadHeader checks that ReadHeader never panics and that every header it
// accepts re-encodes to exactly the bytes it consumed (the encoding is
// canonical, which the first block's additional data relies on).
func FuzzReadHeader(f *testing.F) {
	for _, h := range []Header{
		{Volser: "ABC123", Key: eedkRef(), BlockSize: MinBlockSize},
		{Volser: "Z", Key: KeyRef{KeyID: "lto-0001"}, BlockSize: MaxBlockSize},
	} {
		img := writeImage(f, h, testKey, []byte("x"))
		f.Add(img)
	}
	f.Add(rawHeader(FormatVersion, rawBody("VOL1", MinBlockSize)))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := ReadHeader(r)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		consumed := in[:len(in)-r.Len()]
		enc, err := h.Encode()
		if err != nil {
			t.Fatalf("accepted header does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, consumed) {
			t.Fatalf("re-encoded header differs from input")
		}
	})
}

// FuzzReader checks that reading an arbitrary image never panics, that every
// error is one of the package's sentinels, and that an image accepted whole
// decrypts to data the writer wrote: every image ever written under testKey
// holds pattern(n), so any other accepted output would be a forgery. (The seed
// images differ between fuzzing processes, as each draws its own salts.)
func FuzzReader(f *testing.F) {
	for _, size := range []int{0, 1, MinBlockSize, 2*MinBlockSize + 17} {
		f.Add(writeImage(f, Header{Volser: "FUZZ1", Key: eedkRef(), BlockSize: MinBlockSize}, testKey, pattern(size)))
	}
	for _, name := range []string{"v1-3592.img", "v1-lto.img"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := ReadHeader(r)
		if err != nil {
			return
		}
		records := in[len(in)-r.Len():]
		var copied bytes.Buffer
		n, copyErr := CopyRecords(&copied, bytes.NewReader(records), h)
		if copyErr != nil && !errors.Is(copyErr, ErrTampered) && !errors.Is(copyErr, ErrTruncated) {
			t.Fatalf("CopyRecords: unexpected error kind: %v", copyErr)
		}
		dr, err := NewReader(r, h, testKey)
		if err == nil {
			var got []byte
			got, err = io.ReadAll(dr)
			if err == nil {
				if !bytes.Equal(got, pattern(len(got))) {
					t.Fatalf("accepted an image the writer did not produce")
				}
				if copyErr != nil || n != int64(len(records)) || !bytes.Equal(copied.Bytes(), records) {
					t.Fatalf("CopyRecords on a readable image: %d of %d bytes, %v", n, len(records), copyErr)
				}
				return
			}
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
