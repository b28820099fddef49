package tape

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	const bs = MinBlockSize
	tests := []struct {
		name  string
		size  int
		block int
		key   KeyRef
	}{
		{"empty", 0, bs, eedkRef()},
		{"one byte", 1, bs, eedkRef()},
		{"block minus one", bs - 1, bs, eedkRef()},
		{"one block", bs, bs, eedkRef()},
		{"block plus one", bs + 1, bs, KeyRef{KeyID: "lto-key-0001"}},
		{"three blocks plus 17", 3*bs + 17, bs, KeyRef{KeyID: "lto-key-0001"}},
		{"default block size", 2*DefaultBlockSize + 5, 0, eedkRef()},
		{"largest block size", MaxBlockSize + 1, MaxBlockSize, eedkRef()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := pattern(tc.size)
			img := writeImage(t, Header{Volser: "ABC123", Key: tc.key, BlockSize: tc.block}, testKey, data)
			h, got, err := readImage(img, testKey)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, want %d identical bytes", len(got), len(data))
			}
			wantBlock := tc.block
			if wantBlock == 0 {
				wantBlock = DefaultBlockSize
			}
			if h.Volser != "ABC123" || h.BlockSize != wantBlock || h.Version != FormatVersion {
				t.Fatalf("header = %q block %d version %d", h.Volser, h.BlockSize, h.Version)
			}
			if h.Key.KeyID != tc.key.KeyID {
				t.Fatalf("key id = %q, want %q", h.Key.KeyID, tc.key.KeyID)
			}
			for i, e := range tc.key.EEDKs {
				g := h.Key.EEDKs[i]
				if g.Encoding != e.Encoding || g.LabelOrHash != e.LabelOrHash || !bytes.Equal(g.Wrapped, e.Wrapped) {
					t.Fatalf("EEDK %d = %+v, want %+v", i+1, g, e)
				}
			}
			_, recs := splitImage(t, img)
			if want := max(1, (tc.size+wantBlock-1)/wantBlock); len(recs) != want {
				t.Fatalf("%d blocks, want %d", len(recs), want)
			}
		})
	}
}

func TestSaltIsFreshPerImage(t *testing.T) {
	h := Header{Volser: "V1", Key: eedkRef(), BlockSize: MinBlockSize}
	a, _, err := readImage(writeImage(t, h, testKey, nil), testKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := readImage(writeImage(t, h, testKey, nil), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.Salt == b.Salt || a.Salt == ([SaltSize]byte{}) {
		t.Fatalf("salts not fresh: %x %x", a.Salt, b.Salt)
	}
}

func TestPlaintextAbsent(t *testing.T) {
	unit := []byte("KEYWARDEN-PLAINTEXT-PATTERN-0123456789-abcdefghijklmnopqrstuvwxy")
	if len(unit) != 64 {
		t.Fatalf("pattern is %d bytes", len(unit))
	}
	data := bytes.Repeat(unit, 5000)
	img := writeImage(t, Header{Volser: "PLAIN1", Key: eedkRef(), BlockSize: MinBlockSize}, testKey, data)
	for _, probe := range [][]byte{unit, unit[:16], testKey} {
		if bytes.Contains(img, probe) {
			t.Fatalf("image contains %q", probe)
		}
	}
	if _, got, err := readImage(img, testKey); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
}

func TestDetectsDamage(t *testing.T) {
	const bs = MinBlockSize
	data := pattern(3*bs + 17)
	img := writeImage(t, Header{Volser: "VOL001", Key: eedkRef(), BlockSize: bs}, testKey, data)
	hdr, recs := splitImage(t, img)
	if len(recs) != 4 {
		t.Fatalf("%d blocks, want 4", len(recs))
	}
	other := writeImage(t, Header{Volser: "VOL002", Key: eedkRef(), BlockSize: bs}, testKey, data)
	_, otherRecs := splitImage(t, other)
	again := writeImage(t, Header{Volser: "VOL001", Key: eedkRef(), BlockSize: bs}, testKey, data)
	_, againRecs := splitImage(t, again)
	flip := func(i int) []byte { b := bytes.Clone(img); b[i] ^= 0x01; return b }
	wrongKey := bytes.Clone(testKey)
	wrongKey[0] ^= 0x80

	tests := []struct {
		name string
		img  []byte
		key  []byte
		want error // nil: any error
	}{
		{"truncated inside the header", img[:len(hdr)-3], testKey, ErrTruncated},
		{"truncated after the header", img[:len(hdr)], testKey, ErrTruncated},
		{"truncated inside a block", img[:len(img)-100], testKey, ErrTruncated},
		{"truncated inside a record prefix", join(hdr, recs[0], recs[1][:2]), testKey, ErrTruncated},
		{"last block dropped", join(hdr, recs[0], recs[1], recs[2]), testKey, ErrTruncated},
		{"blocks swapped", join(hdr, recs[0], recs[2], recs[1], recs[3]), testKey, ErrTampered},
		{"first blocks swapped", join(hdr, recs[1], recs[0], recs[2], recs[3]), testKey, ErrTampered},
		{"block spliced from another volume", join(hdr, recs[0], otherRecs[1], recs[2], recs[3]), testKey, ErrTampered},
		{"last block spliced from another volume", join(hdr, recs[0], recs[1], recs[2], otherRecs[3]), testKey, ErrTampered},
		{"block spliced from another image of the same volser", join(hdr, recs[0], againRecs[1], recs[2], recs[3]), testKey, ErrTampered},
		{"block repeated", join(hdr, recs[0], recs[1], recs[1], recs[2], recs[3]), testKey, ErrTampered},
		{"middle block marked last", join(hdr, recs[0], append([]byte{flagLast}, recs[1][1:]...)), testKey, ErrTampered},
		{"data after the last block", append(bytes.Clone(img), 0), testKey, ErrTampered},
		{"ciphertext byte flipped", flip(len(hdr) + len(recs[0]) + 10), testKey, ErrTampered},
		{"tag byte flipped", flip(len(img) - 1), testKey, ErrTampered},
		{"salt byte flipped", flip(prefixSize + 1 + 6 + 4 + 3), testKey, ErrTampered},
		{"volser changed", bytes.Replace(img, []byte("VOL001"), []byte("VOL002"), 1), testKey, ErrTampered},
		{"wrong key", img, wrongKey, ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := readImage(tc.img, tc.key)
			if err == nil {
				t.Fatalf("read %d bytes without error", len(got))
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}

	// Version 2 leaves the EEDK section out of the additional data: a byte
	// flipped there either spoils the parse or changes only what the server
	// is asked to unwrap (the data still reads back unchanged under the key).
	// Every byte before it is authenticated or parsed.
	_, keyStart, err := Header{Version: FormatVersion, Volser: "VOL001", Key: eedkRef(), BlockSize: bs}.marshal()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every header byte flipped", func(t *testing.T) {
		for i := range hdr {
			_, got, err := readImage(flip(i), testKey)
			switch {
			case i < keyStart && err == nil:
				t.Fatalf("header byte %d flipped: no error", i)
			case i >= keyStart && err == nil && !bytes.Equal(got, data):
				t.Fatalf("EEDK section byte %d flipped: other data read back", i)
			case i >= keyStart && err != nil && !errors.Is(err, ErrFormat):
				t.Fatalf("EEDK section byte %d flipped: %v, want ErrFormat or the data", i, err)
			}
		}
	})
	t.Run("every key-identifier header byte flipped", func(t *testing.T) {
		lto := writeImage(t, Header{Volser: "VOL001", Key: KeyRef{KeyID: "des01"}, BlockSize: bs}, testKey, data)
		lhdr, _ := splitImage(t, lto)
		for i := range lhdr {
			b := bytes.Clone(lto)
			b[i] ^= 0x01
			if _, _, err := readImage(b, testKey); err == nil {
				t.Fatalf("header byte %d flipped: no error", i)
			}
		}
	})
}

func TestNewWriterRefuses(t *testing.T) {
	ok := Header{Volser: "ABC123", Key: eedkRef(), BlockSize: MinBlockSize}
	with := func(f func(*Header)) Header { h := ok; h.Key.EEDKs = ok.Key.EEDKs; f(&h); return h }
	tests := []struct {
		name string
		h    Header
		key  []byte
	}{
		{"empty volser", with(func(h *Header) { h.Volser = "" }), testKey},
		{"volser too long", with(func(h *Header) { h.Volser = "ABCDEFG" }), testKey},
		{"lower-case volser", with(func(h *Header) { h.Volser = "abc123" }), testKey},
		{"volser punctuation", with(func(h *Header) { h.Volser = "AB-1" }), testKey},
		{"block too small", with(func(h *Header) { h.BlockSize = MinBlockSize - 1 }), testKey},
		{"block too large", with(func(h *Header) { h.BlockSize = MaxBlockSize + 1 }), testKey},
		{"salt given", with(func(h *Header) { h.Salt[0] = 1 }), testKey},
		{"unknown version", with(func(h *Header) { h.Version = 3 }), testKey},
		{"version 1 is no longer written", with(func(h *Header) { h.Version = FormatVersion1 }), testKey},
		{"no key reference", with(func(h *Header) { h.Key = KeyRef{} }), testKey},
		{"key id and EEDKs", with(func(h *Header) { h.Key.KeyID = "lto" }), testKey},
		{"bad encoding", with(func(h *Header) { h.Key.EEDKs[1].Encoding = 'X' }), testKey},
		{"EEDK without label", with(func(h *Header) { h.Key.EEDKs[0].LabelOrHash = "" }), testKey},
		{"EEDK without wrapped key", with(func(h *Header) { h.Key.EEDKs[0].Wrapped = nil }), testKey},
		{"header over 64 KiB", with(func(h *Header) {
			h.Key.EEDKs[0].Wrapped = make([]byte, 40000)
			h.Key.EEDKs[1].Wrapped = make([]byte, 40000)
		}), testKey},
		{"short data key", ok, testKey[:16]},
		{"long data key", ok, append(bytes.Clone(testKey), 'X')},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var img bytes.Buffer
			_, err := NewWriter(&img, tc.h, tc.key)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
			if img.Len() != 0 {
				t.Fatalf("%d bytes written before the refusal", img.Len())
			}
			if strings.Contains(err.Error(), string(testKey[:8])) {
				t.Fatalf("error reveals the key: %v", err)
			}
		})
	}
}

func TestWriterAfterClose(t *testing.T) {
	var img bytes.Buffer
	w, err := NewWriter(&img, Header{Volser: "A", Key: KeyRef{KeyID: "k"}, BlockSize: MinBlockSize}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after close accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	fw := &failWriter{after: 1} // header succeeds, first block fails
	w, err := NewWriter(fw, Header{Volser: "A", Key: KeyRef{KeyID: "k"}, BlockSize: MinBlockSize}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(2 * MinBlockSize)); err == nil {
		t.Fatal("block write error not reported")
	}
	if err := w.Close(); err == nil {
		t.Fatal("close after a failed write reported success")
	}
}
