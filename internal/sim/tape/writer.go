package tape

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Writer encrypts a file into a tape image. It buffers one block; Close writes
// the last block, which must happen for the image to be readable.
type Writer struct {
	w      io.Writer
	aead   cipher.AEAD
	header Header
	hdr    []byte // the authenticated header bytes
	buf    []byte
	out    []byte
	index  uint64
	err    error
	closed bool
}

var errClosed = errors.New("tape: writer closed")

// NewWriter writes the header of a new tape image to w and returns a Writer for
// its data. h.Salt must be zero: the Writer draws a fresh random salt (reusing a
// salt with the same data key and volser would reuse GCM nonces). A zero
// Version means FormatVersion, the only version written; a zero BlockSize
// means DefaultBlockSize. dataKey must be 32 bytes.
func NewWriter(w io.Writer, h Header, dataKey []byte) (*Writer, error) {
	if h.Salt != ([SaltSize]byte{}) {
		return nil, fmt.Errorf("tape: header salt must be zero, the writer draws it: %w", ErrFormat)
	}
	if h.Version == 0 {
		h.Version = FormatVersion
	}
	if h.Version != FormatVersion {
		return nil, fmt.Errorf("tape: version %d is not written (only version %d): %w", h.Version, FormatVersion, ErrFormat)
	}
	if h.BlockSize == 0 {
		h.BlockSize = DefaultBlockSize
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	if _, err := rand.Read(h.Salt[:]); err != nil {
		return nil, fmt.Errorf("tape: draw salt: %w", err)
	}
	enc, err := h.Encode()
	if err != nil {
		return nil, err
	}
	hdr, err := h.authenticated()
	if err != nil {
		return nil, err
	}
	aead, err := volumeAEAD(dataKey, h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(enc); err != nil {
		return nil, fmt.Errorf("tape: write header: %w", err)
	}
	return &Writer{
		w:      w,
		aead:   aead,
		header: h,
		hdr:    hdr,
		buf:    make([]byte, 0, h.BlockSize),
		out:    make([]byte, recordPrefix, recordPrefix+h.BlockSize+aead.Overhead()),
	}, nil
}

// Header returns the header as written, with its salt.
func (w *Writer) Header() Header { return w.header }

// Write encrypts p into the image, a block at a time.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		// A full block is written only once more data follows, so that the
		// last block is always known to be last when it is sealed.
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

// Close seals and writes the last block (empty for an empty file). It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		w.err = w.flush(true)
	}
	clear(w.buf)
	return w.err
}

func (w *Writer) flush(last bool) error {
	ad := blockAD(w.header.Volser, w.index, last, w.hdr)
	flag := byte(flagMore)
	if last {
		flag = flagLast
	}
	rec := w.aead.Seal(w.out[:recordPrefix], blockNonce(w.index), w.buf, ad)
	rec[0] = flag
	binary.BigEndian.PutUint32(rec[1:recordPrefix], uint32(len(rec)-recordPrefix))
	if _, err := w.w.Write(rec); err != nil {
		w.err = fmt.Errorf("tape: write block %d: %w", w.index, err)
		return w.err
	}
	w.index++
	w.buf = w.buf[:0]
	return nil
}
