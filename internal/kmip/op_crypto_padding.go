package kmip

import (
	"bytes"
	"crypto/aes"
	"crypto/subtle"

	"github.com/ovh/kmip-go"
)

// Block padding of ECB and CBC (KMIP Padding Method): PKCS5 (n bytes of
// value n, RFC 5652 section 6.3) and ANSI X9.23 (n-1 zero bytes, then the
// byte n), n from 1 to the block size, so that a whole block is added to
// data that fills its last block. PyKMIP's demos encrypt with X9.23.

// padded reports whether a padding method adds padding.
func padded(p kmip.PaddingMethod) bool {
	return p == kmip.PaddingMethodPKCS5 || p == kmip.PaddingMethodANSIX9_23
}

// padding returns the padding of p that completes a last block of used
// bytes.
func padding(p kmip.PaddingMethod, used int) []byte {
	n := aes.BlockSize - used%aes.BlockSize
	if p == kmip.PaddingMethodANSIX9_23 {
		pad := make([]byte, n)
		pad[n-1] = byte(n)
		return pad
	}
	return bytes.Repeat([]byte{byte(n)}, n)
}

// paddingLen returns the length of p's padding at the end of plaintext
// (a nonempty multiple of the block size), checking every byte of the
// last block in constant time whatever the padding length.
func paddingLen(p kmip.PaddingMethod, plain []byte) (int, bool) {
	if p != kmip.PaddingMethodANSIX9_23 {
		return pkcs5Len(plain)
	}
	last := plain[len(plain)-aes.BlockSize:]
	n := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := range aes.BlockSize - 1 {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-n, i)
		zero := subtle.ConstantTimeByteEq(last[i], 0)
		good &= zero | (inPad ^ 1)
	}
	return n, good == 1
}
