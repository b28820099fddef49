package tape

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// otherEEDKs returns EEDKs under other labels with wrapped keys of n bytes.
func otherEEDKs(n int) [2]EEDK {
	return [2]EEDK{
		{Encoding: EncodingLabel, LabelOrHash: "partner-one", Wrapped: bytes.Repeat([]byte{0xC3}, n)},
		{Encoding: EncodingLabel, LabelOrHash: "partner-two", Wrapped: bytes.Repeat([]byte{0xD4}, n)},
	}
}

// rekeyImage replaces the EEDKs of img the way `sim tape rekey` does: the new
// header, then the records copied by CopyRecords.
func rekeyImage(t *testing.T, img []byte, eedks [2]EEDK) (Header, []byte) {
	t.Helper()
	r := bytes.NewReader(img)
	h, err := ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	nh, err := h.WithEEDKs(eedks)
	if err != nil {
		t.Fatalf("WithEEDKs: %v", err)
	}
	enc, err := nh.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.NewBuffer(enc)
	rest := int64(r.Len())
	n, err := CopyRecords(out, r, h)
	if err != nil {
		t.Fatalf("CopyRecords: %v", err)
	}
	if n != rest {
		t.Fatalf("copied %d bytes of %d", n, rest)
	}
	return nh, out.Bytes()
}

func TestRekeyKeepsDataBlocks(t *testing.T) {
	const bs = MinBlockSize
	data := pattern(3*bs + 17)
	img := writeImage(t, Header{Volser: "RKY001", Key: eedkRef(), BlockSize: bs}, testKey, data)
	oldHdr, oldRecs := splitImage(t, img)
	tests := []struct {
		name      string
		eedks     [2]EEDK
		sameBytes bool // the new header has the old one's length
	}{
		{"same length", [2]EEDK{
			{Encoding: EncodingLabel, LabelOrHash: "label-two", Wrapped: bytes.Repeat([]byte{0xC3}, 256)},
			{Encoding: EncodingHash, LabelOrHash: "9a8b7c", Wrapped: bytes.Repeat([]byte{0xD4}, 256)},
		}, true},
		{"longer EEDKs", otherEEDKs(512), false},
		{"shorter EEDKs", otherEEDKs(16), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nh, rekeyed := rekeyImage(t, img, tc.eedks)
			newHdr, newRecs := splitImage(t, rekeyed)
			if (len(newHdr) == len(oldHdr)) != tc.sameBytes {
				t.Fatalf("header %d bytes, was %d", len(newHdr), len(oldHdr))
			}
			if !bytes.Equal(rekeyed[len(newHdr):], img[len(oldHdr):]) || len(newRecs) != len(oldRecs) {
				t.Fatal("the data region changed")
			}
			h, got, err := readImage(rekeyed, testKey)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read the rekeyed image: %v", err)
			}
			if h.Salt != nh.Salt || h.Key.EEDKs[0].LabelOrHash != tc.eedks[0].LabelOrHash || h.Key.EEDKs[1].LabelOrHash != tc.eedks[1].LabelOrHash {
				t.Fatalf("rekeyed header %+v", h.Key)
			}
		})
	}
}

// EEDKs that wrap another key yield another volume key: every block, not only
// the first, fails its tag.
func TestReplacedEEDKsWithAnotherKeyFailEveryBlock(t *testing.T) {
	const bs = MinBlockSize
	img := writeImage(t, Header{Volser: "RKY002", Key: eedkRef(), BlockSize: bs}, testKey, pattern(3*bs+17))
	nh, rekeyed := rekeyImage(t, img, otherEEDKs(256))
	other := bytes.Repeat([]byte{0x5A}, KeySize) // what the new EEDKs would unwrap to
	if _, _, err := readImage(rekeyed, other); !errors.Is(err, ErrTampered) {
		t.Fatalf("read with the other key: %v, want ErrTampered", err)
	}
	aead, err := volumeAEAD(other, nh)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := nh.authenticated()
	if err != nil {
		t.Fatal(err)
	}
	_, recs := splitImage(t, rekeyed)
	for i, rec := range recs {
		last := rec[0] == flagLast
		if _, err := aead.Open(nil, blockNonce(uint64(i)), rec[recordPrefix:], blockAD(nh.Volser, uint64(i), last, hdr)); err == nil {
			t.Fatalf("block %d opens under the other key", i)
		}
	}
}

func TestWithEEDKsRefuses(t *testing.T) {
	v2, err := ReadHeader(bytes.NewReader(writeImage(t, Header{Volser: "A", Key: eedkRef(), BlockSize: MinBlockSize}, testKey, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lto, err := ReadHeader(bytes.NewReader(writeImage(t, Header{Volser: "A", Key: KeyRef{KeyID: "des01"}, BlockSize: MinBlockSize}, testKey, nil)))
	if err != nil {
		t.Fatal(err)
	}
	bad := otherEEDKs(8)
	bad[1].Encoding = 'X'
	tests := []struct {
		name  string
		h     Header
		eedks [2]EEDK
	}{
		{"key identifier volume", lto, otherEEDKs(8)},
		{"bad encoding", v2, bad},
		{"empty wrapped key", v2, otherEEDKs(0)},
		{"header over 64 KiB", v2, otherEEDKs(40000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.h.WithEEDKs(tc.eedks); !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
		})
	}
	t.Run("caller's slices are not shared", func(t *testing.T) {
		e := otherEEDKs(8)
		nh, err := v2.WithEEDKs(e)
		if err != nil {
			t.Fatal(err)
		}
		e[0].Wrapped[0] ^= 0xff
		if nh.Key.EEDKs[0].Wrapped[0] == e[0].Wrapped[0] {
			t.Fatal("the header shares the caller's wrapped key")
		}
	})
}

func TestCopyRecordsChecksFraming(t *testing.T) {
	const bs = MinBlockSize
	img := writeImage(t, Header{Volser: "CPY001", Key: eedkRef(), BlockSize: bs}, testKey, pattern(2*bs+5))
	hdr, recs := splitImage(t, img)
	h, err := ReadHeader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		img  []byte
		want error
	}{
		{"whole image", img, nil},
		{"truncated inside a block", img[:len(img)-7], ErrTruncated},
		{"truncated inside a record prefix", join(hdr, recs[0], recs[1][:3]), ErrTruncated},
		{"last block dropped", join(hdr, recs[0], recs[1]), ErrTruncated},
		{"no block", hdr, ErrTruncated},
		{"data after the last block", append(bytes.Clone(img), 0), ErrTampered},
		{"middle block marked last", join(hdr, recs[0], append([]byte{flagLast}, recs[1][1:]...), recs[2]), ErrTampered},
		{"unknown flag", join(hdr, append([]byte{7}, recs[0][1:]...), recs[1], recs[2]), ErrTampered},
		{"short block not marked last", join(hdr, recs[0], append([]byte{flagMore}, recs[2][1:]...)), ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := CopyRecords(&out, bytes.NewReader(tc.img[len(hdr):]), h)
			if tc.want == nil {
				if err != nil || n != int64(len(img)-len(hdr)) || !bytes.Equal(out.Bytes(), img[len(hdr):]) {
					t.Fatalf("copied %d bytes, %v", n, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("write error", func(t *testing.T) {
		_, err := CopyRecords(&failWriter{after: 1}, bytes.NewReader(img[len(hdr):]), h)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("error %v, want the write error", err)
		}
	})
}
