package keywrap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

const (
	kek128 = "000102030405060708090A0B0C0D0E0F"
	kek192 = "000102030405060708090A0B0C0D0E0F1011121314151617"
	kek256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
	data16 = "00112233445566778899AABBCCDDEEFF"
	data24 = "00112233445566778899AABBCCDDEEFF0001020304050607"
	data32 = "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"
	// RFC 5649 section 6 uses one 192-bit KEK for both examples.
	kek5649 = "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8"
)

// TestRFC3394Vectors checks every test vector of RFC 3394 section 4.
func TestRFC3394Vectors(t *testing.T) {
	tests := []struct {
		name, kek, data, wrapped string
	}{
		{"4.1 wrap 128 bits of key data with a 128-bit KEK", kek128, data16,
			"1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5"},
		{"4.2 wrap 128 bits of key data with a 192-bit KEK", kek192, data16,
			"96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D"},
		{"4.3 wrap 128 bits of key data with a 256-bit KEK", kek256, data16,
			"64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7"},
		{"4.4 wrap 192 bits of key data with a 192-bit KEK", kek192, data24,
			"031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"},
		{"4.5 wrap 192 bits of key data with a 256-bit KEK", kek256, data24,
			"A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"},
		{"4.6 wrap 256 bits of key data with a 256-bit KEK", kek256, data32,
			"28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kek, data, want := unhex(t, tc.kek), unhex(t, tc.data), unhex(t, tc.wrapped)
			got, err := Wrap(kek, data)
			if err != nil {
				t.Fatalf("Wrap: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Wrap = %X, want %X", got, want)
			}
			back, err := Unwrap(kek, want)
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			if !bytes.Equal(back, data) {
				t.Fatalf("Unwrap = %X, want %X", back, data)
			}
		})
	}
}

// TestRFC5649Vectors checks both test vectors of RFC 5649 section 6.
func TestRFC5649Vectors(t *testing.T) {
	tests := []struct {
		name, kek, data, wrapped string
	}{
		{"6 wrap 20 octets with a 192-bit KEK", kek5649, "c37b7e6492584340 bed1220780894115 5068f738",
			"138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
		{"6 wrap 7 octets with a 192-bit KEK", kek5649, "466f7250617369",
			"afbeb0f07dfbf541 9200f2ccb50bb24f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kek, data, want := unhex(t, tc.kek), unhex(t, tc.data), unhex(t, tc.wrapped)
			got, err := WrapPad(kek, data)
			if err != nil {
				t.Fatalf("WrapPad: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("WrapPad = %x, want %x", got, want)
			}
			back, err := UnwrapPad(kek, want)
			if err != nil {
				t.Fatalf("UnwrapPad: %v", err)
			}
			if !bytes.Equal(back, data) {
				t.Fatalf("UnwrapPad = %x, want %x", back, data)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	kek := unhex(t, kek128)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"wrap of 8 bytes", func() error { _, err := Wrap(kek, make([]byte, 8)); return err }, ErrLength},
		{"wrap of 17 bytes", func() error { _, err := Wrap(kek, make([]byte, 17)); return err }, ErrLength},
		{"unwrap of 16 bytes", func() error { _, err := Unwrap(kek, make([]byte, 16)); return err }, ErrLength},
		{"unwrap of 25 bytes", func() error { _, err := Unwrap(kek, make([]byte, 25)); return err }, ErrLength},
		{"pad wrap of nothing", func() error { _, err := WrapPad(kek, nil); return err }, ErrLength},
		{"pad unwrap of 8 bytes", func() error { _, err := UnwrapPad(kek, make([]byte, 8)); return err }, ErrLength},
		{"pad unwrap of 20 bytes", func() error { _, err := UnwrapPad(kek, make([]byte, 20)); return err }, ErrLength},
		{"unwrap of zeros", func() error { _, err := Unwrap(kek, make([]byte, 24)); return err }, ErrIntegrity},
		{"pad unwrap of zeros", func() error { _, err := UnwrapPad(kek, make([]byte, 16)); return err }, ErrIntegrity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("bad KEK length", func(t *testing.T) {
		if _, err := Wrap(make([]byte, 15), make([]byte, 16)); err == nil || errors.Is(err, ErrLength) {
			t.Fatalf("Wrap with a 15-byte KEK: err = %v, want a key size error", err)
		}
	})
}

// TestTamperDetected flips every bit of wrapped keys in turn: each
// modification must fail the integrity check.
func TestTamperDetected(t *testing.T) {
	kek := unhex(t, kek256)
	kw, err := Wrap(kek, unhex(t, data24))
	if err != nil {
		t.Fatal(err)
	}
	kwp20, err := WrapPad(kek, unhex(t, "c37b7e6492584340bed12207808941155068f738"))
	if err != nil {
		t.Fatal(err)
	}
	kwp7, err := WrapPad(kek, unhex(t, "466f7250617369"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ct     []byte
		unwrap func(kek, ct []byte) ([]byte, error)
	}{
		{"KW", kw, Unwrap},
		{"KWP two semiblocks", kwp20, UnwrapPad},
		{"KWP one semiblock", kwp7, UnwrapPad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for bit := range len(tc.ct) * 8 {
				ct := bytes.Clone(tc.ct)
				ct[bit/8] ^= 1 << (bit % 8)
				if p, err := tc.unwrap(kek, ct); !errors.Is(err, ErrIntegrity) || p != nil {
					t.Fatalf("bit %d flipped: unwrap = %x, %v; want ErrIntegrity", bit, p, err)
				}
			}
			other := bytes.Clone(kek)
			other[0] ^= 0x80
			if _, err := tc.unwrap(other, tc.ct); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("unwrap under another KEK: err = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("KW ciphertext given to KWP", func(t *testing.T) {
		if _, err := UnwrapPad(kek, kw); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
	t.Run("KWP ciphertext given to KW", func(t *testing.T) {
		if _, err := Unwrap(kek, kwp20); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
}

// TestPadRoundTripLengths wraps every length from 1 to 72 bytes.
func TestPadRoundTripLengths(t *testing.T) {
	kek := unhex(t, kek128)
	for n := 1; n <= 72; n++ {
		p := bytes.Repeat([]byte{byte(n)}, n)
		ct, err := WrapPad(kek, p)
		if err != nil {
			t.Fatalf("WrapPad(%d bytes): %v", n, err)
		}
		if want := (n+7)/8*8 + 8; len(ct) != want {
			t.Fatalf("WrapPad(%d bytes) gave %d bytes, want %d", n, len(ct), want)
		}
		back, err := UnwrapPad(kek, ct)
		if err != nil || !bytes.Equal(back, p) {
			t.Fatalf("UnwrapPad(WrapPad(%d bytes)) = %x, %v", n, back, err)
		}
	}
}
