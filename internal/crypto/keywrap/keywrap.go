// Package keywrap implements the AES Key Wrap algorithm (RFC 3394, NIST
// SP 800-38F "KW") and AES Key Wrap with Padding (RFC 5649, SP 800-38F
// "KWP") on top of the standard library's AES block cipher.
//
// Both wrap a key under a key-encryption key (KEK) of 16, 24 or 32 bytes.
// Unwrapping authenticates the result: a ciphertext that was modified, or
// wrapped under another KEK, fails with ErrIntegrity, and nothing of the
// unauthenticated plaintext is returned.
package keywrap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by the wrap and unwrap functions.
var (
	// ErrIntegrity reports an unwrap whose integrity check failed: the
	// ciphertext was modified or the KEK is not the one it was wrapped with.
	ErrIntegrity = errors.New("keywrap: integrity check failed")
	// ErrLength reports an input whose length the algorithm does not accept.
	ErrLength = errors.New("keywrap: invalid input length")
)

// defaultIV is the initial value of RFC 3394 section 2.2.3.1.
var defaultIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// aivPrefix is the constant half of RFC 5649's Alternative Initial Value.
var aivPrefix = [4]byte{0xA6, 0x59, 0x59, 0xA6}

// maxPadded is the largest plaintext RFC 5649 wraps: its 32-bit Message
// Length Indicator counts bytes.
const maxPadded = 1<<32 - 1

// maxUnwrapPad bounds the ciphertexts UnwrapPad accepts, so that its
// constant-time length comparisons stay within their defined range.
const maxUnwrapPad = 1<<31 - 8

func newCipher(kek []byte) (cipher.Block, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: key-encryption key: %w", err)
	}
	return b, nil
}

// Wrap wraps plaintext under kek with AES Key Wrap (RFC 3394 section
// 2.2.1). plaintext must be a multiple of 8 bytes, at least 16.
func Wrap(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) < 16 || len(plaintext)%8 != 0 {
		return nil, fmt.Errorf("%w: plaintext of %d bytes (want a multiple of 8, at least 16)", ErrLength, len(plaintext))
	}
	b, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	return wrap(b, defaultIV, plaintext), nil
}

// Unwrap reverses Wrap (RFC 3394 section 2.2.2) and checks the initial
// value in constant time. ciphertext must be a multiple of 8 bytes, at
// least 24.
func Unwrap(kek, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 24 || len(ciphertext)%8 != 0 {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes (want a multiple of 8, at least 24)", ErrLength, len(ciphertext))
	}
	b, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	a, p := unwrap(b, ciphertext)
	if subtle.ConstantTimeCompare(a[:], defaultIV[:]) != 1 {
		clear(p)
		return nil, ErrIntegrity
	}
	return p, nil
}

// WrapPad wraps plaintext of any length from 1 byte under kek with AES
// Key Wrap with Padding (RFC 5649 section 4.1).
func WrapPad(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 || uint64(len(plaintext)) > maxPadded {
		return nil, fmt.Errorf("%w: plaintext of %d bytes", ErrLength, len(plaintext))
	}
	b, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	var aiv [8]byte
	copy(aiv[:4], aivPrefix[:])
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(plaintext)))
	padded := make([]byte, (len(plaintext)+7)/8*8)
	copy(padded, plaintext)
	defer clear(padded)
	if len(padded) == 8 {
		// One semiblock: a single AES encryption of AIV | P.
		out := make([]byte, 16)
		copy(out, aiv[:])
		copy(out[8:], padded)
		b.Encrypt(out, out)
		return out, nil
	}
	return wrap(b, aiv, padded), nil
}

// UnwrapPad reverses WrapPad (RFC 5649 section 4.2): it checks the
// Alternative Initial Value, the Message Length Indicator and the zero
// padding, without branching on their contents.
func UnwrapPad(kek, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 16 || len(ciphertext)%8 != 0 || len(ciphertext) > maxUnwrapPad {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes (want a multiple of 8, at least 16)", ErrLength, len(ciphertext))
	}
	b, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	var a [8]byte
	var p []byte
	if len(ciphertext) == 16 {
		block := make([]byte, 16)
		b.Decrypt(block, ciphertext)
		copy(a[:], block[:8])
		p = block[8:]
	} else {
		a, p = unwrap(b, ciphertext)
	}
	n := len(p)
	mli := int64(binary.BigEndian.Uint32(a[4:]))
	ok := subtle.ConstantTimeCompare(a[:4], aivPrefix[:])
	// 8*(n-1) < MLI <= 8*n, with p holding n semiblocks of 8 bytes.
	ok &= subtle.ConstantTimeLessOrEq(n-7, clampInt(mli))
	ok &= subtle.ConstantTimeLessOrEq(clampInt(mli), n)
	// Every byte after MLI is zero. The loop visits every byte of the last
	// semiblock whatever MLI is.
	var nonzero byte
	for i := n - 8; i < n; i++ {
		beyond := subtle.ConstantTimeLessOrEq(clampInt(mli), i) // 1 when i >= MLI
		nonzero |= p[i] & byte(-beyond)
	}
	ok &= subtle.ConstantTimeByteEq(nonzero, 0)
	if ok != 1 {
		clear(p)
		return nil, ErrIntegrity
	}
	out := p[:mli]
	return out, nil
}

// clampInt returns v as an int, saturated to a value no valid length
// reaches, so that comparisons stay correct on 32-bit platforms.
func clampInt(v int64) int {
	const limit = 1<<31 - 1
	if v > limit {
		return limit
	}
	return int(v)
}

// wrap is the index-based wrapping process W of RFC 3394 section 2.2.1
// with initial value iv, for n >= 2 semiblocks of plaintext.
func wrap(b cipher.Block, iv [8]byte, plaintext []byte) []byte {
	n := len(plaintext) / 8
	out := make([]byte, 8+len(plaintext))
	copy(out[8:], plaintext)
	var buf [16]byte
	a := iv
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(buf[:8], a[:])
			copy(buf[8:], r)
			b.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(buf[:8])^t)
			copy(r, buf[8:])
		}
	}
	copy(out[:8], a[:])
	clear(buf[:])
	return out
}

// unwrap is the index-based unwrapping process W⁻¹ of RFC 3394 section
// 2.2.2. It returns the recovered initial value and the plaintext, which
// the caller must check against it before use.
func unwrap(b cipher.Block, ciphertext []byte) ([8]byte, []byte) {
	n := len(ciphertext)/8 - 1
	p := make([]byte, 8*n)
	copy(p, ciphertext[8:])
	var a [8]byte
	copy(a[:], ciphertext[:8])
	var buf [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			r := p[8*(i-1) : 8*i]
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(buf[8:], r)
			b.Decrypt(buf[:], buf[:])
			copy(a[:], buf[:8])
			copy(r, buf[8:])
		}
	}
	clear(buf[:])
	return a, p
}
