package tape

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// WithEEDKs returns h with its two EEDKs replaced by eedks, as a 3592 rekey
// does: volser, block size and salt are kept, so the image's data blocks stay
// valid byte for byte. Only a version 2 header with EEDKs can be rekeyed this
// way (a version 1 header authenticates its EEDKs, so its data must be
// encrypted again); otherwise, or when eedks are invalid or make the header
// too large, the error wraps ErrFormat. The caller writes h.Encode() in place
// of the old header and copies the blocks with CopyRecords.
//
// Nothing here checks that eedks wrap the volume's data key: the drive does
// not hold it. If they wrap another key, block 0 fails its tag on the next
// read (ErrTampered), as with any wrong key.
func (h Header) WithEEDKs(eedks [2]EEDK) (Header, error) {
	if h.Version != FormatVersion2 {
		return Header{}, fmt.Errorf("tape: version %d header authenticates its EEDKs, only version %d EEDKs can be replaced: %w", h.Version, FormatVersion2, ErrFormat)
	}
	if !h.Key.IsEEDK() {
		return Header{}, fmt.Errorf("tape: volume %s carries a key identifier, not EEDKs: %w", h.Volser, ErrFormat)
	}
	for i := range eedks {
		eedks[i].Wrapped = bytes.Clone(eedks[i].Wrapped)
	}
	h.Key = KeyRef{EEDKs: eedks}
	if _, err := h.Encode(); err != nil { // validates, and checks the size
		return Header{}, err
	}
	return h, nil
}

// CopyRecords copies the block records of an image from src, positioned just
// after the header h (as ReadHeader leaves it), to dst byte for byte, without
// a key: it decrypts nothing. It checks the framing the reader checks before
// a tag (each record's flag and length against h.BlockSize, a last record,
// nothing after it), so a truncated image fails with ErrTruncated and
// trailing or misframed data with ErrTampered; the tags are verified only when
// the image is read with its data key. It returns the number of bytes copied.
func CopyRecords(dst io.Writer, src io.Reader, h Header) (int64, error) {
	if err := h.validate(); err != nil {
		return 0, err
	}
	const overhead = 16 // the GCM tag
	full := uint64(h.BlockSize + overhead)
	var n int64
	for index := uint64(0); ; index++ {
		var pre [recordPrefix]byte
		if _, err := io.ReadFull(src, pre[:]); err != nil {
			return n, readErr(fmt.Sprintf("block %d", index), err)
		}
		flag, size := pre[0], uint64(binary.BigEndian.Uint32(pre[1:]))
		switch {
		case flag == flagMore && size == full:
		case flag == flagLast && size >= overhead && size <= full:
		default:
			return n, fmt.Errorf("tape: block %d record (flag %d, length %d) invalid: %w", index, flag, size, ErrTampered)
		}
		if _, err := dst.Write(pre[:]); err != nil {
			return n, fmt.Errorf("tape: copy block %d: %w", index, err)
		}
		n += recordPrefix
		c, err := io.CopyN(dst, src, int64(size))
		n += c
		if err != nil {
			if c < int64(size) && (err == io.EOF || err == io.ErrUnexpectedEOF) {
				return n, readErr(fmt.Sprintf("block %d", index), err)
			}
			return n, fmt.Errorf("tape: copy block %d: %w", index, err)
		}
		if flag == flagLast {
			break
		}
	}
	var b [1]byte
	c, err := io.ReadFull(src, b[:])
	if c > 0 {
		return n, fmt.Errorf("tape: data after the last block: %w", ErrTampered)
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("tape: read after the last block: %w", err)
	}
	return n, nil
}
