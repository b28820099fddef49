package backup

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Errors of the encrypted stream. Each is wrapped with detail; test with
// errors.Is.
var (
	// ErrNotBackup: the file does not start like a keywarden backup.
	ErrNotBackup = errors.New("backup: not a keywarden backup file")
	// ErrWrongPassphrase: the passphrase does not open the backup (or its
	// header was damaged: the two cannot be told apart).
	ErrWrongPassphrase = errors.New("backup: wrong passphrase (or damaged header)")
	// ErrDamaged: a chunk fails authentication, or data follows the end.
	ErrDamaged = errors.New("backup: file damaged or tampered with")
	// ErrTruncated: the file ends before its last chunk.
	ErrTruncated = errors.New("backup: file truncated")
)

// KDFParams are the Argon2id cost parameters of a backup's passphrase.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDF is RFC 9106's second recommended option: 3 passes over
// 64 MiB, 4 lanes.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Magic starts every backup file.
const Magic = "KWBACKUP"

// Bounds on parameters read from a file, so that a damaged or hostile file
// cannot make a restore allocate without limit.
const (
	maxKDFTime   = 16
	maxKDFMemory = 1 << 20 // KiB: 1 GiB (the server opens uploaded bundles)
)

func (p KDFParams) check() error {
	if p.Time < 1 || p.Time > maxKDFTime || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemory || p.Threads < 1 {
		return fmt.Errorf("backup: Argon2id parameters out of bounds (time %d, memory %d KiB, threads %d)", p.Time, p.MemoryKiB, p.Threads)
	}
	return nil
}

// The encrypted file:
//
//	header: magic "KWBACKUP" | version 1 | time u32 | memory KiB u32 |
//	        threads u8 | salt (32) | chunk size u32 | HMAC-SHA256 (32)
//	chunks: AES-256-GCM(payload key, nonce = counter (11 bytes) || last (1),
//	        chunk) — every chunk but the last holds exactly chunk size bytes
//
// This is the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár
// ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
// CRYPTO 2015), instantiated as age does (github.com/C2SP/C2SP age.md):
// a counter nonce with a final-chunk flag, so that chunks cannot be
// reordered, dropped or the stream cut short without detection. The
// payload key and the header MAC key come from HKDF-SHA256 over the
// Argon2id output; the random 32-byte salt makes both unique per file, so
// counter nonces never repeat under one key. The header MAC tells a wrong
// passphrase apart from a damaged chunk. The HKDF info strings name the
// file's magic ("keywarden KWBACKUP v1 payload"), so that files of other
// kinds written with NewFileWriter never open as a backup.
const (
	formatVersion  = 1
	saltLen        = 32
	macLen         = 32
	headerLen      = len(Magic) + 1 + 4 + 4 + 1 + saltLen + 4 + macLen
	tagLen         = 16
	nonceLen       = 12
	lastFlag       = 1
	ChunkSize      = 64 << 10 // plaintext bytes per chunk
	maxChunkSize   = 1 << 24
	payloadInfo    = " v1 payload" // after "keywarden " and the magic
	headerMACInfo  = " v1 header"
	derivedKeySize = 32
)

// deriveKeys returns the payload key and the header MAC key of a file
// that starts with magic.
func deriveKeys(magic string, passphrase, salt []byte, p KDFParams) (payload, mac []byte, err error) {
	ikm := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, derivedKeySize)
	defer clear(ikm)
	payload, err = hkdf.Key(sha256.New, ikm, salt, "keywarden "+magic+payloadInfo, derivedKeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("backup: derive key: %w", err)
	}
	mac, err = hkdf.Key(sha256.New, ikm, salt, "keywarden "+magic+headerMACInfo, derivedKeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("backup: derive key: %w", err)
	}
	return payload, mac, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return aead, nil
}

// nonce returns the STREAM nonce of chunk n.
func nonce(n uint64, last bool) []byte {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[3:11], n)
	if last {
		b[11] = lastFlag
	}
	return b[:]
}

// checkPassphrase refuses an empty passphrase.
func checkPassphrase(p []byte) error {
	if len(p) == 0 {
		return errors.New("backup: empty passphrase")
	}
	return nil
}

// Writer encrypts a backup stream. Close writes the last chunk; a stream
// not closed does not decrypt.
type Writer struct {
	w      io.Writer
	aead   cipher.AEAD
	buf    []byte
	out    []byte
	n      uint64
	err    error
	closed bool
}

// NewWriter writes the header of an encrypted backup to w, with the key
// derived from passphrase with p, and returns the Writer of its payload.
func NewWriter(w io.Writer, passphrase []byte, p KDFParams) (*Writer, error) {
	return NewFileWriter(w, Magic, passphrase, p)
}

// NewFileWriter is NewWriter for another kind of passphrase-encrypted
// file: magic (8 bytes) starts the file and is bound into the key
// derivation, so that a file of one kind never opens as another.
func NewFileWriter(w io.Writer, magic string, passphrase []byte, p KDFParams) (*Writer, error) {
	if len(magic) != len(Magic) {
		return nil, fmt.Errorf("backup: file magic %q: want %d bytes", magic, len(Magic))
	}
	if err := checkPassphrase(passphrase); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	payload, macKey, err := deriveKeys(magic, passphrase, salt, p)
	if err != nil {
		return nil, err
	}
	defer clear(payload)
	defer clear(macKey)
	h := make([]byte, 0, headerLen)
	h = append(h, magic...)
	h = append(h, formatVersion)
	h = binary.BigEndian.AppendUint32(h, p.Time)
	h = binary.BigEndian.AppendUint32(h, p.MemoryKiB)
	h = append(h, p.Threads)
	h = append(h, salt...)
	h = binary.BigEndian.AppendUint32(h, ChunkSize)
	m := hmac.New(sha256.New, macKey)
	m.Write(h)
	h = m.Sum(h)
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("backup: write header: %w", err)
	}
	aead, err := newGCM(payload)
	if err != nil {
		return nil, err
	}
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, ChunkSize+tagLen)}, nil
}

// Write encrypts p, a chunk at a time.
func (x *Writer) Write(p []byte) (int, error) {
	if x.closed {
		return 0, errors.New("backup: write after close")
	}
	written := 0
	for len(p) > 0 {
		if x.err != nil {
			return written, x.err
		}
		if len(x.buf) == ChunkSize {
			// Only now is it known that this full chunk is not the last.
			x.flush(false)
			continue
		}
		n := copy(x.buf[len(x.buf):ChunkSize], p)
		x.buf = x.buf[:len(x.buf)+n]
		p = p[n:]
		written += n
	}
	return written, x.err
}

// flush seals and writes the buffered chunk.
func (x *Writer) flush(last bool) {
	x.out = x.aead.Seal(x.out[:0], nonce(x.n, last), x.buf, nil)
	clear(x.buf)
	x.buf = x.buf[:0]
	x.n++
	if _, err := x.w.Write(x.out); err != nil {
		x.err = fmt.Errorf("backup: write chunk: %w", err)
	}
}

// Close writes the last chunk. It does not close the underlying writer.
func (x *Writer) Close() error {
	if x.closed {
		return x.err
	}
	x.closed = true
	if x.err == nil {
		x.flush(true)
	}
	return x.err
}

// Reader decrypts and authenticates a backup stream chunk by chunk: every
// byte it returns has been authenticated, and it returns io.EOF only after
// the last chunk, so a truncated stream ends with ErrTruncated.
type Reader struct {
	r    *bufio.Reader
	aead cipher.AEAD
	size int
	in   []byte
	out  []byte
	rest []byte
	n    uint64
	done bool
	err  error
}

// NewReader reads and checks the header of an encrypted backup. A wrong
// passphrase is refused here, with ErrWrongPassphrase.
func NewReader(r io.Reader, passphrase []byte) (*Reader, error) {
	return NewFileReader(r, Magic, passphrase)
}

// NewFileReader is NewReader for a file NewFileWriter wrote with magic.
func NewFileReader(r io.Reader, magic string, passphrase []byte) (*Reader, error) {
	if err := checkPassphrase(passphrase); err != nil {
		return nil, err
	}
	h := make([]byte, headerLen)
	if n, err := io.ReadFull(r, h); err != nil {
		if n >= len(magic) && string(h[:len(magic)]) == magic {
			return nil, fmt.Errorf("%w: the header is cut short", ErrTruncated)
		}
		return nil, fmt.Errorf("%w: %d bytes only", ErrNotBackup, n)
	}
	if string(h[:len(magic)]) != magic {
		return nil, ErrNotBackup
	}
	p := h[len(magic):]
	if p[0] != formatVersion {
		return nil, fmt.Errorf("backup: backup format version %d; this keywarden reads version %d", p[0], formatVersion)
	}
	kdf := KDFParams{Time: binary.BigEndian.Uint32(p[1:5]), MemoryKiB: binary.BigEndian.Uint32(p[5:9]), Threads: p[9]}
	if err := kdf.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	salt := p[10 : 10+saltLen]
	size := binary.BigEndian.Uint32(p[10+saltLen:])
	if size == 0 || size > maxChunkSize {
		return nil, fmt.Errorf("%w: chunk size %d", ErrDamaged, size)
	}
	payload, macKey, err := deriveKeys(magic, passphrase, salt, kdf)
	if err != nil {
		return nil, err
	}
	defer clear(payload)
	defer clear(macKey)
	m := hmac.New(sha256.New, macKey)
	m.Write(h[:headerLen-macLen])
	if !hmac.Equal(m.Sum(nil), h[headerLen-macLen:]) {
		return nil, ErrWrongPassphrase
	}
	aead, err := newGCM(payload)
	if err != nil {
		return nil, err
	}
	return &Reader{
		r: bufio.NewReaderSize(r, int(size)+tagLen+1), aead: aead, size: int(size),
		in: make([]byte, int(size)+tagLen), out: make([]byte, 0, size),
	}, nil
}

// Read returns authenticated plaintext.
func (x *Reader) Read(p []byte) (int, error) {
	for len(x.rest) == 0 {
		if x.err != nil {
			return 0, x.err
		}
		if x.done {
			return 0, io.EOF
		}
		x.err = x.next()
	}
	n := copy(p, x.rest)
	x.rest = x.rest[n:]
	return n, nil
}

// next reads, authenticates and decrypts the next chunk.
func (x *Reader) next() error {
	n, err := io.ReadFull(x.r, x.in)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// A short chunk can only be the last one.
	case err != nil:
		return fmt.Errorf("backup: read chunk %d: %w", x.n, err)
	}
	if n < tagLen {
		return fmt.Errorf("%w: it ends before its last chunk (chunk %d)", ErrTruncated, x.n)
	}
	last := n < len(x.in)
	if !last {
		if _, err := x.r.Peek(1); errors.Is(err, io.EOF) {
			last = true
		} else if err != nil {
			return fmt.Errorf("backup: read chunk %d: %w", x.n, err)
		}
	}
	out, err := x.aead.Open(x.out[:0], nonce(x.n, last), x.in[:n], nil)
	if err != nil {
		if last {
			// A full chunk that fails as the last one may be a cut stream.
			if _, err2 := x.aead.Open(x.out[:0], nonce(x.n, false), x.in[:n], nil); err2 == nil {
				return fmt.Errorf("%w: it ends after chunk %d, before its last chunk", ErrTruncated, x.n)
			}
		}
		return fmt.Errorf("%w: chunk %d (at byte %d) fails authentication", ErrDamaged, x.n, headerLen+int(x.n)*(x.size+tagLen))
	}
	if !last && len(out) != x.size {
		return fmt.Errorf("%w: chunk %d is short", ErrDamaged, x.n)
	}
	x.out = out
	x.rest = out
	x.n++
	if last {
		x.done = true
	}
	return nil
}
