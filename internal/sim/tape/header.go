// Package tape implements the simulated tape image format written and read by
// `keywarden sim tape`: a header naming the volume and the key that protects it,
// followed by the file in AES-256-GCM blocks under a per-volume key derived with
// HKDF-SHA256. The byte layout and the checks are described in docs/tape-image.md.
//
// The package is pure: it never talks to a key server and never logs. The data
// key is passed in by the caller and never appears in an error.
package tape

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic is the first six bytes of every tape image.
const Magic = "KWTAPE"

// Image format versions. Version 1 authenticates the whole header, EEDKs
// included, so its EEDKs cannot be replaced without re-encrypting the data;
// version 2 leaves the EEDK section out of the additional data, so that a
// rekey rewrites the EEDKs only, as a 3592 drive does. Both are read; only
// FormatVersion is written.
const (
	// FormatVersion1 is the original format, read but no longer written.
	FormatVersion1 uint8 = 1
	// FormatVersion2 is the format whose EEDKs can be replaced in place.
	FormatVersion2 uint8 = 2
	// FormatVersion is the version NewWriter writes.
	FormatVersion = FormatVersion2
)

// Limits of the format, checked before any buffer is allocated.
const (
	// MaxHeaderSize is the largest encoded header, prefix included.
	MaxHeaderSize = 64 << 10
	// MinBlockSize is the smallest allowed block size.
	MinBlockSize = 4 << 10
	// MaxBlockSize is the largest allowed block size.
	MaxBlockSize = 1 << 20
	// DefaultBlockSize is used when a Header leaves BlockSize zero.
	DefaultBlockSize = 64 << 10
	// SaltSize is the length of the per-volume random salt.
	SaltSize = 32
	// KeySize is the length of the data key (AES-256).
	KeySize = 32
)

// prefixSize is magic, version and the body length.
const prefixSize = len(Magic) + 1 + 4

// Key reference kinds in the encoded header.
const (
	kindEEDK  = 'E'
	kindKeyID = 'I'
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrFormat reports a header or image that is malformed or outside the limits.
	ErrFormat = errors.New("tape: malformed image")
	// ErrTampered reports a block that fails authentication: a modified header or
	// block, reordered or spliced blocks, or the wrong data key.
	ErrTampered = errors.New("tape: image fails authentication")
	// ErrTruncated reports an image that ends before its authenticated last block.
	ErrTruncated = errors.New("tape: image truncated")
)

// Encoding says how an EEDK names the key pair that wrapped it, as on a 3592 volume.
type Encoding byte

// EEDK encodings.
const (
	// EncodingLabel names the key pair by its label.
	EncodingLabel Encoding = 'L'
	// EncodingHash names the key pair by a hash of its public key.
	EncodingHash Encoding = 'H'
)

// EEDK is one externally encrypted data key: the data key wrapped under a key
// pair, and how that key pair is named.
type EEDK struct {
	// Encoding is EncodingLabel or EncodingHash.
	Encoding Encoding
	// LabelOrHash is the key label (encoding L) or public-key hash (encoding H).
	LabelOrHash string
	// Wrapped is the opaque wrapped data key.
	Wrapped []byte
}

// KeyRef says which key protects a volume: either two EEDKs (3592 style) or a
// key identifier (LTO style), never both.
type KeyRef struct {
	// EEDKs holds the two EEDKs of a 3592 volume; both zero for an LTO volume.
	EEDKs [2]EEDK
	// KeyID is the key identifier of an LTO volume; empty for a 3592 volume.
	KeyID string
}

// Header is the decoded header of a tape image.
type Header struct {
	// Version is the format version (FormatVersion1 or FormatVersion2, as
	// read); zero means FormatVersion when writing.
	Version uint8
	// Volser is the volume serial: 1 to 6 characters A–Z, 0–9.
	Volser string
	// Key names the key that protects the volume.
	Key KeyRef
	// Salt is the random per-volume salt; the Writer draws it, so it must be
	// zero when passed to NewWriter.
	Salt [SaltSize]byte
	// BlockSize is the plaintext size of every block but the last; zero means
	// DefaultBlockSize when writing.
	BlockSize int
}

// IsEEDK reports whether the key reference holds EEDKs (3592 style).
func (k KeyRef) IsEEDK() bool { return k.KeyID == "" }

// ValidVolser reports whether v is a valid volume serial: 1 to 6 characters A–Z, 0–9.
func ValidVolser(v string) bool {
	if len(v) < 1 || len(v) > 6 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// validate checks every field of a complete header.
func (h Header) validate() error {
	if h.Version != FormatVersion1 && h.Version != FormatVersion2 {
		return fmt.Errorf("tape: version %d not supported: %w", h.Version, ErrFormat)
	}
	if !ValidVolser(h.Volser) {
		return fmt.Errorf("tape: volser %q must be 1 to 6 characters A-Z, 0-9: %w", h.Volser, ErrFormat)
	}
	if h.BlockSize < MinBlockSize || h.BlockSize > MaxBlockSize {
		return fmt.Errorf("tape: block size %d outside %d..%d: %w", h.BlockSize, MinBlockSize, MaxBlockSize, ErrFormat)
	}
	return h.Key.validate()
}

func (k KeyRef) validate() error {
	if k.KeyID != "" {
		for i, e := range k.EEDKs {
			if e.Encoding != 0 || e.LabelOrHash != "" || len(e.Wrapped) != 0 {
				return fmt.Errorf("tape: key reference has both a key identifier and EEDK %d: %w", i+1, ErrFormat)
			}
		}
		if len(k.KeyID) > 0xffff {
			return fmt.Errorf("tape: key identifier too long: %w", ErrFormat)
		}
		return nil
	}
	for i, e := range k.EEDKs {
		if e.Encoding != EncodingLabel && e.Encoding != EncodingHash {
			return fmt.Errorf("tape: EEDK %d encoding %q must be L or H: %w", i+1, byte(e.Encoding), ErrFormat)
		}
		if e.LabelOrHash == "" || len(e.LabelOrHash) > 0xffff {
			return fmt.Errorf("tape: EEDK %d label or hash must be 1 to 65535 bytes: %w", i+1, ErrFormat)
		}
		if len(e.Wrapped) == 0 || len(e.Wrapped) > 0xffff {
			return fmt.Errorf("tape: EEDK %d must be 1 to 65535 bytes: %w", i+1, ErrFormat)
		}
	}
	return nil
}

// Encode returns the header's bytes as they appear at the start of an image.
// The encoding is canonical: ReadHeader accepts exactly the bytes Encode
// produces for the header it returns.
func (h Header) Encode() ([]byte, error) {
	b, _, err := h.marshal()
	return b, err
}

// authenticated returns the header bytes that block 0's additional data
// covers. Version 1: the whole header. Version 2: magic, version and the
// body up to the EEDK section (volser, block size, salt, key reference kind
// and, for the key-identifier form, the identifier); the body length and the
// EEDK section are left out, so that the EEDKs can be replaced.
func (h Header) authenticated() ([]byte, error) {
	b, keyStart, err := h.marshal()
	if err != nil || h.Version == FormatVersion1 {
		return b, err
	}
	out := make([]byte, 0, keyStart-4)
	out = append(out, b[:len(Magic)+1]...)
	return append(out, b[prefixSize:keyStart]...), nil
}

// marshal encodes a validated header and returns the offset of its EEDK
// section (the header's length for the key-identifier form).
func (h Header) marshal() ([]byte, int, error) {
	if err := h.validate(); err != nil {
		return nil, 0, err
	}
	var body []byte
	body = append(body, byte(len(h.Volser)))
	body = append(body, h.Volser...)
	body = binary.BigEndian.AppendUint32(body, uint32(h.BlockSize))
	body = append(body, h.Salt[:]...)
	keyStart := -1
	if h.Key.IsEEDK() {
		body = append(body, kindEEDK)
		keyStart = prefixSize + len(body)
		for _, e := range h.Key.EEDKs {
			body = append(body, byte(e.Encoding))
			body = appendField(body, []byte(e.LabelOrHash))
			body = appendField(body, e.Wrapped)
		}
	} else {
		body = append(body, kindKeyID)
		body = appendField(body, []byte(h.Key.KeyID))
	}
	if prefixSize+len(body) > MaxHeaderSize {
		return nil, 0, fmt.Errorf("tape: header of %d bytes exceeds %d: %w", prefixSize+len(body), MaxHeaderSize, ErrFormat)
	}
	if keyStart < 0 {
		keyStart = prefixSize + len(body)
	}
	out := make([]byte, 0, prefixSize+len(body))
	out = append(out, Magic...)
	out = append(out, h.Version)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...), keyStart, nil
}

func appendField(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
	return append(b, f...)
}

// ReadHeader reads and decodes the header at the start of a tape image, reading
// exactly the header's bytes from r so that r is left at the first block. The
// header is authenticated only when the first block is read with NewReader.
func ReadHeader(r io.Reader) (Header, error) {
	prefix := make([]byte, prefixSize)
	if _, err := io.ReadFull(r, prefix); err != nil {
		return Header{}, readErr("header", err)
	}
	if string(prefix[:len(Magic)]) != Magic {
		return Header{}, fmt.Errorf("tape: not a tape image (bad magic): %w", ErrFormat)
	}
	v := prefix[len(Magic)]
	if v != FormatVersion1 && v != FormatVersion2 {
		return Header{}, fmt.Errorf("tape: version %d not supported: %w", v, ErrFormat)
	}
	n := binary.BigEndian.Uint32(prefix[len(Magic)+1:])
	if uint64(n) > uint64(MaxHeaderSize-prefixSize) {
		return Header{}, fmt.Errorf("tape: header of %d bytes exceeds %d: %w", uint64(n)+uint64(prefixSize), MaxHeaderSize, ErrFormat)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return Header{}, readErr("header", err)
	}
	h, err := parseBody(body)
	if err != nil {
		return Header{}, err
	}
	h.Version = v
	if err := h.validate(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// parseBody decodes the header body, refusing trailing bytes so that the
// encoding stays canonical.
func parseBody(body []byte) (Header, error) {
	d := decoder{b: body}
	var h Header
	vl := d.byte()
	h.Volser = string(d.bytes(int(vl)))
	h.BlockSize = int(d.uint32())
	copy(h.Salt[:], d.bytes(SaltSize))
	switch kind := d.byte(); kind {
	case kindEEDK:
		for i := range h.Key.EEDKs {
			h.Key.EEDKs[i].Encoding = Encoding(d.byte())
			h.Key.EEDKs[i].LabelOrHash = string(d.field())
			h.Key.EEDKs[i].Wrapped = bytes.Clone(d.field())
		}
	case kindKeyID:
		h.Key.KeyID = string(d.field())
		if h.Key.KeyID == "" && !d.short {
			return Header{}, fmt.Errorf("tape: empty key identifier: %w", ErrFormat)
		}
	default:
		if !d.short {
			return Header{}, fmt.Errorf("tape: unknown key reference kind %q: %w", kind, ErrFormat)
		}
	}
	if d.short {
		return Header{}, fmt.Errorf("tape: header body too short: %w", ErrFormat)
	}
	if len(d.b) != 0 {
		return Header{}, fmt.Errorf("tape: %d trailing bytes in header: %w", len(d.b), ErrFormat)
	}
	return h, nil
}

// decoder reads big-endian fields from a byte slice; once short is set every
// further read returns zero values.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) bytes(n int) []byte {
	if d.short || n > len(d.b) {
		d.short = true
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) field() []byte {
	b := d.bytes(2)
	if b == nil {
		return nil
	}
	return d.bytes(int(binary.BigEndian.Uint16(b)))
}

// readErr maps a short read to ErrTruncated and wraps other read errors.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("tape: read %s: %w", what, ErrTruncated)
	}
	return fmt.Errorf("tape: read %s: %w", what, err)
}
