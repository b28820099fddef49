package keywrap

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzUnwrap feeds arbitrary ciphertexts and KEKs to both unwrap
// functions (they must never panic), and round-trips arbitrary
// plaintexts, checking that a modified ciphertext fails its integrity
// check.
func FuzzUnwrap(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 24), []byte("0123456789abcdef"), uint16(0))
	f.Add(make([]byte, 32), make([]byte, 16), []byte("k"), uint16(7))
	f.Add(make([]byte, 24), make([]byte, 40), bytes.Repeat([]byte{0xA6}, 24), uint16(100))
	f.Fuzz(func(t *testing.T, kek, ct, plain []byte, flip uint16) {
		// Arbitrary input: errors are fine, panics are not.
		if p, err := Unwrap(kek, ct); err == nil && len(p) != len(ct)-8 {
			t.Fatalf("Unwrap returned %d bytes for %d", len(p), len(ct))
		}
		if p, err := UnwrapPad(kek, ct); err == nil && (len(p) == 0 || len(p) > len(ct)-8) {
			t.Fatalf("UnwrapPad returned %d bytes for %d", len(p), len(ct))
		}
		switch len(kek) {
		case 16, 24, 32:
		default:
			return
		}
		for _, alg := range []struct {
			name   string
			wrap   func(kek, p []byte) ([]byte, error)
			unwrap func(kek, c []byte) ([]byte, error)
		}{{"KW", Wrap, Unwrap}, {"KWP", WrapPad, UnwrapPad}} {
			c, err := alg.wrap(kek, plain)
			if err != nil {
				if !errors.Is(err, ErrLength) {
					t.Fatalf("%s wrap: %v", alg.name, err)
				}
				continue
			}
			back, err := alg.unwrap(kek, c)
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("%s round trip: %x, %v", alg.name, back, err)
			}
			bit := int(flip) % (len(c) * 8)
			c[bit/8] ^= 1 << (bit % 8)
			if p, err := alg.unwrap(kek, c); !errors.Is(err, ErrIntegrity) || p != nil {
				t.Fatalf("%s unwrap of a modified ciphertext: %x, %v", alg.name, p, err)
			}
		}
	})
}
