package tape

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
)

// reader decrypts the blocks of a tape image and releases only authenticated
// plaintext.
type reader struct {
	r      io.Reader
	aead   cipher.AEAD
	volser string
	hdr    []byte
	block  int
	index  uint64
	ct     []byte
	plain  []byte // authenticated plaintext not yet returned
	done   bool   // the last block has been read and authenticated
	err    error  // sticky
}

// NewReader returns a reader of the data of a tape image. r must be positioned
// just after the header (as ReadHeader leaves it) and h must be the header
// ReadHeader returned. The first block, whose additional data covers the header
// (version 2: all but the EEDK section), is read and authenticated before
// NewReader returns, so a wrong key (for instance one unwrapped from replaced
// EEDKs) or a modified header fails here with ErrTampered. Later reads return ErrTampered or
// ErrTruncated instead of unauthenticated bytes; the file is complete only when
// a read returns io.EOF.
func NewReader(r io.Reader, h Header, dataKey []byte) (io.Reader, error) {
	hdr, err := h.authenticated()
	if err != nil {
		return nil, err
	}
	aead, err := volumeAEAD(dataKey, h)
	if err != nil {
		return nil, err
	}
	tr := &reader{
		r:      r,
		aead:   aead,
		volser: h.Volser,
		hdr:    hdr,
		block:  h.BlockSize,
		ct:     make([]byte, h.BlockSize+aead.Overhead()),
	}
	if err := tr.next(); err != nil {
		return nil, err
	}
	return tr, nil
}

// Read returns authenticated plaintext.
func (t *reader) Read(p []byte) (int, error) {
	for len(t.plain) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		if t.done {
			t.err = t.checkEnd()
			continue
		}
		t.err = t.next()
	}
	n := copy(p, t.plain)
	t.plain = t.plain[n:]
	return n, nil
}

// next reads, checks and opens one block record.
func (t *reader) next() error {
	var pre [recordPrefix]byte
	if _, err := io.ReadFull(t.r, pre[:]); err != nil {
		return readErr(fmt.Sprintf("block %d", t.index), err)
	}
	flag := pre[0]
	n := uint64(binary.BigEndian.Uint32(pre[1:]))
	full := uint64(t.block + t.aead.Overhead())
	switch {
	case flag == flagMore && n == full:
	case flag == flagLast && n >= uint64(t.aead.Overhead()) && n <= full:
	default:
		return fmt.Errorf("tape: block %d record (flag %d, length %d) invalid: %w", t.index, flag, n, ErrTampered)
	}
	ct := t.ct[:n]
	if _, err := io.ReadFull(t.r, ct); err != nil {
		return readErr(fmt.Sprintf("block %d", t.index), err)
	}
	last := flag == flagLast
	plain, err := t.aead.Open(ct[:0], blockNonce(t.index), ct, blockAD(t.volser, t.index, last, t.hdr))
	if err != nil {
		return fmt.Errorf("tape: block %d: %w", t.index, ErrTampered)
	}
	t.plain = plain
	t.index++
	t.done = last
	return nil
}

// checkEnd refuses data after the last block and otherwise reports io.EOF.
func (t *reader) checkEnd() error {
	var b [1]byte
	n, err := io.ReadFull(t.r, b[:])
	if n > 0 {
		return fmt.Errorf("tape: data after the last block: %w", ErrTampered)
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("tape: read after the last block: %w", err)
	}
	return io.EOF
}
