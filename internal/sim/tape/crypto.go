package tape

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// kdfInfo returns the HKDF info prefix of a format version; the volser
// follows it. Each version has its own, so the two never share a volume key.
func kdfInfo(version uint8) string {
	if version == FormatVersion1 {
		return "keywarden tape v1"
	}
	return "keywarden tape v2"
}

// Block record flags.
const (
	flagMore = 0
	flagLast = 1
)

// recordPrefix is the flag byte and the ciphertext length of a block record.
const recordPrefix = 1 + 4

// volumeAEAD derives the per-volume key HKDF-SHA256(dataKey, salt,
// "keywarden tape v1" or "keywarden tape v2" || volser) and returns AES-256-GCM under it. Errors never
// include key bytes.
func volumeAEAD(dataKey []byte, h Header) (cipher.AEAD, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("tape: data key must be %d bytes, got %d: %w", KeySize, len(dataKey), ErrFormat)
	}
	vk, err := hkdf.Key(sha256.New, dataKey, h.Salt[:], kdfInfo(h.Version)+h.Volser, KeySize)
	if err != nil {
		return nil, fmt.Errorf("tape: derive volume key: %w", err)
	}
	defer clear(vk)
	block, err := aes.NewCipher(vk)
	if err != nil {
		return nil, fmt.Errorf("tape: volume cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tape: volume cipher: %w", err)
	}
	return aead, nil
}

// blockNonce is the 96-bit big-endian block index.
func blockNonce(index uint64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], index)
	return n
}

// blockAD is the additional data of a block: volser length, volser, block
// index (64-bit big-endian), last-block flag and, for block 0, the
// authenticated header bytes (Header.authenticated).
func blockAD(volser string, index uint64, last bool, header []byte) []byte {
	ad := make([]byte, 0, 1+len(volser)+8+1+len(header))
	ad = append(ad, byte(len(volser)))
	ad = append(ad, volser...)
	ad = binary.BigEndian.AppendUint64(ad, index)
	if last {
		ad = append(ad, flagLast)
	} else {
		ad = append(ad, flagMore)
	}
	if index == 0 {
		ad = append(ad, header...)
	}
	return ad
}
