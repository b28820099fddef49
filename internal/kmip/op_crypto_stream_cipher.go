package kmip

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"

	"github.com/ovh/kmip-go"
)

// partCipher is the state of one multi-part AES operation between its
// parts. It holds no key: each part receives the cipher.Block, built from
// the key fetched for that part. Its output, part after part, is the
// output of the single-part operation on the whole data:
//
//   - ECB and CBC return the complete blocks as they arrive; the padding
//     (PKCS#5) is added, or checked and removed, at the final part only,
//     so a padded decryption holds back its last complete block until then.
//   - CTR returns every byte at once; the state is the next counter block
//     and how much of its key stream was used.
//   - GCM uses the standard library's AEAD only, which cannot stream.
//     Encryption buffers the plaintext and seals it whole again at each
//     part, returning only the ciphertext bytes not returned yet: GCM's
//     ciphertext is the same for a prefix of the plaintext, so what leaves
//     the server is exactly the single-part ciphertext, and the one tag
//     returned is the final one (the tags of the partial seals are dropped
//     unseen). Decryption buffers the ciphertext and returns nothing until
//     the final part, where the tag is verified: no unauthenticated
//     plaintext leaves the server. Both are bounded by gcmStreamMax bytes
//     and (encryption) gcmStreamParts parts.
type partCipher struct {
	mode    kmip.BlockCipherMode
	padding kmip.PaddingMethod
	decrypt bool
	tagLen  int
	// iv: CBC, the chaining value; CTR, the counter block of the next key
	// stream block; GCM, the nonce.
	iv []byte
	// used is the number of bytes of the counter block before iv already
	// used (CTR).
	used int
	// pending: ECB and CBC, the bytes waiting for a complete block; GCM,
	// all the data so far.
	pending []byte
	// emitted is the number of ciphertext bytes returned (GCM encryption).
	emitted int
	parts   int
	aad     []byte
	tag     []byte
}

// Bounds of a GCM stream, which the standard library makes buffer: the
// data held, and the number of parts (each seals the data again).
const (
	gcmStreamMax   = 1 << 20
	gcmStreamParts = 64
)

var errStreamTooLarge = kerr(kmip.ResultReasonFeatureNotSupported, "multi-part GCM is offered up to 1 MiB of data in 64 parts")

// newPartCipher checks the IV for the mode and returns the state of a new
// stream. c describes the operation; iv is nil for ECB.
func newPartCipher(c *blockOp, decrypt bool, iv, aad, tag []byte) (*partCipher, error) {
	pc := &partCipher{mode: c.mode, padding: c.padding, decrypt: decrypt, iv: bytes.Clone(iv)}
	switch c.mode {
	case kmip.BlockCipherModeCBC, kmip.BlockCipherModeCTR:
		if len(iv) != aes.BlockSize {
			return nil, errBadIV
		}
	case kmip.BlockCipherModeGCM:
		pc.tagLen = int(c.tagLen)
		if pc.tagLen == 0 {
			pc.tagLen = 16
		}
		check := pc.tagLen
		if decrypt {
			check = 16
			if len(tag) > 0 {
				check = len(tag)
			}
		}
		if _, err := gcmFor(c.block, len(iv), check); err != nil {
			return nil, err
		}
		pc.aad, pc.tag = bytes.Clone(aad), bytes.Clone(tag)
	}
	return pc, nil
}

// update processes one part's data and returns the output it releases.
func (pc *partCipher) update(blk cipher.Block, data []byte) ([]byte, error) {
	switch pc.mode {
	case kmip.BlockCipherModeCTR:
		return pc.ctr(blk, data), nil
	case kmip.BlockCipherModeGCM:
		if err := pc.buffer(data); err != nil {
			return nil, err
		}
		if pc.decrypt || len(data) == 0 {
			return nil, nil
		}
		pc.parts++
		if pc.parts > gcmStreamParts {
			return nil, errStreamTooLarge
		}
		out, _, err := pc.seal(blk)
		return out, err
	default: // ECB, CBC
		pc.grow(data)
		n := len(pc.pending) / aes.BlockSize * aes.BlockSize
		if pc.decrypt && padded(pc.padding) && n == len(pc.pending) && n > 0 {
			n -= aes.BlockSize // perhaps the padded last block
		}
		return pc.blocks(blk, n), nil
	}
}

// final processes the final part's data and ends the operation.
func (pc *partCipher) final(blk cipher.Block, data []byte) (out, tag []byte, err error) {
	switch pc.mode {
	case kmip.BlockCipherModeCTR:
		return pc.ctr(blk, data), nil, nil
	case kmip.BlockCipherModeGCM:
		if err := pc.buffer(data); err != nil {
			return nil, nil, err
		}
		if pc.decrypt {
			out, err := pc.open(blk)
			return out, nil, err
		}
		return pc.seal(blk)
	default: // ECB, CBC
		pc.grow(data)
		return pc.lastBlocks(blk)
	}
}

// lastBlocks ends an ECB or CBC operation: the padding is added, or
// checked and removed.
func (pc *partCipher) lastBlocks(blk cipher.Block) ([]byte, []byte, error) {
	if !padded(pc.padding) {
		if len(pc.pending)%aes.BlockSize != 0 {
			return nil, nil, errBadLength
		}
		return pc.blocks(blk, len(pc.pending)), nil, nil
	}
	if !pc.decrypt {
		pc.grow(padding(pc.padding, len(pc.pending)))
		return pc.blocks(blk, len(pc.pending)), nil, nil
	}
	if len(pc.pending) == 0 || len(pc.pending)%aes.BlockSize != 0 {
		return nil, nil, errBadLength
	}
	out := pc.blocks(blk, len(pc.pending))
	n, ok := paddingLen(pc.padding, out)
	if !ok {
		clear(out)
		return nil, nil, errCryptoFailed
	}
	return out[:len(out)-n], nil, nil
}

// grow appends data to pending in a new buffer, clearing the old one.
func (pc *partCipher) grow(data []byte) {
	buf := make([]byte, len(pc.pending)+len(data))
	copy(buf, pc.pending)
	copy(buf[len(pc.pending):], data)
	clear(pc.pending)
	pc.pending = buf
}

// blocks processes the first n bytes of pending (a multiple of the block
// size) in ECB or CBC and keeps the rest.
func (pc *partCipher) blocks(blk cipher.Block, n int) []byte {
	if n == 0 {
		return nil
	}
	in := pc.pending[:n]
	out := make([]byte, n)
	switch {
	case pc.mode == kmip.BlockCipherModeECB && pc.decrypt:
		ecb(blk.Decrypt, out, in)
	case pc.mode == kmip.BlockCipherModeECB:
		ecb(blk.Encrypt, out, in)
	case pc.decrypt:
		next := bytes.Clone(in[n-aes.BlockSize:])
		cipher.NewCBCDecrypter(blk, pc.iv).CryptBlocks(out, in)
		pc.iv = next
	default:
		cipher.NewCBCEncrypter(blk, pc.iv).CryptBlocks(out, in)
		pc.iv = bytes.Clone(out[n-aes.BlockSize:])
	}
	rest := bytes.Clone(pc.pending[n:])
	clear(pc.pending)
	pc.pending = rest
	return out
}

// ctr applies the key stream from where the previous part stopped: the
// counter block iv, of which used bytes were spent, then advances it by
// the blocks consumed, as one single-part CTR operation would.
func (pc *partCipher) ctr(blk cipher.Block, data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	s := cipher.NewCTR(blk, pc.iv)
	if pc.used > 0 {
		skip := make([]byte, pc.used)
		s.XORKeyStream(skip, skip)
		clear(skip)
	}
	out := make([]byte, len(data))
	s.XORKeyStream(out, data)
	total := pc.used + len(data)
	addCounter(pc.iv, uint64(total/aes.BlockSize))
	pc.used = total % aes.BlockSize
	return out
}

// addCounter adds n to a big-endian counter block, modulo 2^(8·len(ctr)),
// as the standard library's CTR increments its counter.
func addCounter(ctr []byte, n uint64) {
	for i := len(ctr) - 1; i >= 0 && n > 0; i-- {
		sum := uint64(ctr[i]) + n&0xff
		ctr[i] = byte(sum)
		n = n>>8 + sum>>8
	}
}

// buffer adds data to a GCM stream's buffer, within its bound.
func (pc *partCipher) buffer(data []byte) error {
	if len(pc.pending)+len(data) > gcmStreamMax {
		return errStreamTooLarge
	}
	pc.grow(data)
	return nil
}

// seal seals the whole plaintext so far and returns the ciphertext bytes
// not yet returned, and the tag.
func (pc *partCipher) seal(blk cipher.Block) (out, tag []byte, err error) {
	aead, err := gcmFor(blk, len(pc.iv), pc.tagLen)
	if err != nil {
		return nil, nil, err
	}
	sealed := aead.Seal(nil, pc.iv, pc.pending, pc.aad)
	n := len(pc.pending)
	out = bytes.Clone(sealed[pc.emitted:n])
	tag = bytes.Clone(sealed[n:])
	clear(sealed)
	pc.emitted = n
	return out, tag, nil
}

// open verifies and decrypts the whole ciphertext of a GCM stream.
func (pc *partCipher) open(blk cipher.Block) ([]byte, error) {
	if len(pc.tag) == 0 {
		return nil, errMissingTag
	}
	aead, err := gcmFor(blk, len(pc.iv), len(pc.tag))
	if err != nil {
		return nil, errCryptoFailed
	}
	out, err := aead.Open(nil, pc.iv, append(bytes.Clone(pc.pending), pc.tag...), pc.aad)
	if err != nil {
		return nil, errCryptoFailed
	}
	return out, nil
}

// wipe clears the state.
func (pc *partCipher) wipe() {
	if pc == nil {
		return
	}
	clear(pc.pending)
	clear(pc.iv)
	clear(pc.aad)
	clear(pc.tag)
	pc.pending, pc.aad, pc.tag = nil, nil, nil
}
