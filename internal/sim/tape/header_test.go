package tape

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// rawHeader builds a header prefix and body by hand, bypassing validation.
func rawHeader(version byte, body []byte) []byte {
	b := append([]byte(Magic), version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// rawBody builds a key-identifier header body with the given volser and block size.
func rawBody(volser string, block uint32, tail ...byte) []byte {
	b := append([]byte{byte(len(volser))}, volser...)
	b = binary.BigEndian.AppendUint32(b, block)
	b = append(b, make([]byte, SaltSize)...)
	b = append(b, kindKeyID, 0, 3, 'k', 'e', 'y')
	return append(b, tail...)
}

func TestReadHeader(t *testing.T) {
	good := rawHeader(FormatVersion, rawBody("VOL1", MinBlockSize))
	if h, err := ReadHeader(bytes.NewReader(good)); err != nil || h.Volser != "VOL1" || h.Key.KeyID != "key" {
		t.Fatalf("good header: %+v, %v", h, err)
	}
	if h, err := ReadHeader(bytes.NewReader(rawHeader(FormatVersion1, rawBody("VOL1", MinBlockSize)))); err != nil || h.Version != FormatVersion1 {
		t.Fatalf("version 1 header: %+v, %v", h, err)
	}
	huge := append([]byte(Magic), FormatVersion, 0xff, 0xff, 0xff, 0xff)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"prefix only", good[:prefixSize], ErrTruncated},
		{"body cut", good[:len(good)-1], ErrTruncated},
		{"bad magic", append([]byte("KWTAPX"), good[len(Magic):]...), ErrFormat},
		{"unknown version", rawHeader(3, rawBody("VOL1", MinBlockSize)), ErrFormat},
		{"version zero", rawHeader(0, rawBody("VOL1", MinBlockSize)), ErrFormat},
		{"length over the limit", huge, ErrFormat},
		{"length just over the limit", rawHeader(FormatVersion, make([]byte, MaxHeaderSize-prefixSize+1)), ErrFormat},
		{"block size 1 GiB", rawHeader(FormatVersion, rawBody("VOL1", 1<<30)), ErrFormat},
		{"block size zero", rawHeader(FormatVersion, rawBody("VOL1", 0)), ErrFormat},
		{"lower-case volser", rawHeader(FormatVersion, rawBody("vol1", MinBlockSize)), ErrFormat},
		{"empty volser", rawHeader(FormatVersion, rawBody("", MinBlockSize)), ErrFormat},
		{"seven-character volser", rawHeader(FormatVersion, rawBody("VOLUME1", MinBlockSize)), ErrFormat},
		{"trailing byte in body", rawHeader(FormatVersion, rawBody("VOL1", MinBlockSize, 0)), ErrFormat},
		{"empty body", rawHeader(FormatVersion, nil), ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHeader(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadHeaderLeavesReaderAtFirstBlock(t *testing.T) {
	good := rawHeader(FormatVersion, rawBody("VOL1", MinBlockSize))
	r := bytes.NewReader(append(bytes.Clone(good), "BLOCKS"...))
	if _, err := ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	if r.Len() != len("BLOCKS") {
		t.Fatalf("%d bytes left, want %d", r.Len(), len("BLOCKS"))
	}
}

func TestValidVolser(t *testing.T) {
	for v, want := range map[string]bool{
		"A": true, "ABC123": true, "000000": true, "": false, "ABCDEFG": false,
		"abc": false, "AB C": false, "AB-1": false, "ÄB": false,
	} {
		if got := ValidVolser(v); got != want {
			t.Errorf("ValidVolser(%q) = %v, want %v", v, got, want)
		}
	}
}
