package barrier

import (
	"bytes"
	"testing"
	"time"
)

func TestKeyringEncoding(t *testing.T) {
	ring, err := newKeyring(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring, _, rotated, err := ring.reserve(4, 4, time.Now())
	if err != nil || rotated {
		t.Fatalf("reserve = %v, rotated %t; want the first generation", err, rotated)
	}
	ring, _, rotated, err = ring.reserve(4, 4, time.Now())
	if err != nil || !rotated {
		t.Fatalf("reserve = %v, rotated %t; want a new generation", err, rotated)
	}
	enc := ring.encode()
	got, err := decodeKeyring(enc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !bytes.Equal(got.encode(), enc) || got.active != 2 || len(got.gens) != 2 {
		t.Errorf("decoded keyring differs: active %d, %d generations", got.active, len(got.gens))
	}

	bad := map[string][]byte{
		"empty":            nil,
		"unknown version":  append([]byte{9}, enc[1:]...),
		"truncated":        enc[:len(enc)-1],
		"trailing byte":    append(bytes.Clone(enc), 0),
		"active missing":   withByte(enc, 1+keySize+3, 7),
		"count too large":  withByte(enc, 1+keySize+4+3, 3),
		"ids out of order": withByte(enc, keyringHeadLen+generationLen+3, 1),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeKeyring(b); err == nil {
				t.Error("decode succeeded")
			}
		})
	}
}

func withByte(b []byte, i int, v byte) []byte {
	out := bytes.Clone(b)
	out[i] = v
	return out
}
