package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// commandEncodingV1 is the first byte of an encoded Command.
const commandEncodingV1 byte = 1

// ErrMalformedCommand is wrapped by DecodeCommand's errors.
var ErrMalformedCommand = errors.New("store: malformed command encoding")

// Encode returns the compact binary form of cmd, the bytes a replicated
// store puts in its log:
//
//	version  byte (1)
//	count    uvarint, number of ops
//	each op: kind byte, bucket (uvarint length + bytes), key (uvarint
//	         length + bytes), and for put and require-equal only, value
//	         (uvarint length + bytes)
//
// Varints are minimal, so every Command has exactly one encoding. A Value
// carried by a delete or require-absent op is not encoded. Encode does not
// validate cmd; DecodeCommand reverses it.
func Encode(cmd Command) []byte {
	size := 1 + uvarintLen(uint64(len(cmd.Ops)))
	for _, op := range cmd.Ops {
		size += 1 + fieldLen(len(op.Bucket)) + fieldLen(len(op.Key))
		if hasValue(op.Kind) {
			size += fieldLen(len(op.Value))
		}
	}
	out := make([]byte, 0, size)
	out = append(out, commandEncodingV1)
	out = binary.AppendUvarint(out, uint64(len(cmd.Ops)))
	for _, op := range cmd.Ops {
		out = append(out, byte(op.Kind))
		out = binary.AppendUvarint(out, uint64(len(op.Bucket)))
		out = append(out, op.Bucket...)
		out = binary.AppendUvarint(out, uint64(len(op.Key)))
		out = append(out, op.Key...)
		if hasValue(op.Kind) {
			out = binary.AppendUvarint(out, uint64(len(op.Value)))
			out = append(out, op.Value...)
		}
	}
	return out
}

// DecodeCommand parses the output of Encode. It accepts only the exact
// encoding Encode produces (known version and op kinds, minimal varints, no
// trailing bytes), so Encode(DecodeCommand(b)) == b. The Command it returns
// does not share memory with b. It checks structure only: use
// Command.Validate for bucket and key rules.
func DecodeCommand(b []byte) (Command, error) {
	d := decoder{buf: b}
	version, err := d.byte()
	if err != nil {
		return Command{}, err
	}
	if version != commandEncodingV1 {
		return Command{}, fmt.Errorf("%w: unknown version %d", ErrMalformedCommand, version)
	}
	count, err := d.uvarint()
	if err != nil {
		return Command{}, err
	}
	// Every op takes at least three bytes (kind and two lengths); a larger
	// count is a lie that must not drive an allocation.
	if count > uint64(len(d.buf))/3 {
		return Command{}, fmt.Errorf("%w: %d ops cannot fit in %d bytes", ErrMalformedCommand, count, len(d.buf))
	}
	cmd := Command{Ops: make([]Op, 0, count)}
	for i := range count {
		op, err := d.op()
		if err != nil {
			return Command{}, fmt.Errorf("%w (op %d)", err, i)
		}
		cmd.Ops = append(cmd.Ops, op)
	}
	if len(d.buf) != 0 {
		return Command{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformedCommand, len(d.buf))
	}
	return cmd, nil
}

// hasValue says whether ops of kind k carry a value in the encoding.
func hasValue(k OpKind) bool { return k == OpPut || k == OpRequireEqual }

// fieldLen is the encoded size of a length-prefixed field of n bytes.
func fieldLen(n int) int { return uvarintLen(uint64(n)) + n }

// uvarintLen is the size of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decoder consumes an encoded command from the front of buf.
type decoder struct{ buf []byte }

func (d *decoder) byte() (byte, error) {
	if len(d.buf) == 0 {
		return 0, fmt.Errorf("%w: truncated", ErrMalformedCommand)
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, fmt.Errorf("%w: truncated or overlong varint", ErrMalformedCommand)
	}
	if n != uvarintLen(v) {
		return 0, fmt.Errorf("%w: non-minimal varint", ErrMalformedCommand)
	}
	d.buf = d.buf[n:]
	return v, nil
}

// field returns a copy of the next length-prefixed field.
func (d *decoder) field() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)) {
		return nil, fmt.Errorf("%w: field of %d bytes, %d left", ErrMalformedCommand, n, len(d.buf))
	}
	out := make([]byte, n)
	copy(out, d.buf[:n])
	d.buf = d.buf[n:]
	return out, nil
}

func (d *decoder) op() (Op, error) {
	kind, err := d.byte()
	if err != nil {
		return Op{}, err
	}
	op := Op{Kind: OpKind(kind)}
	switch op.Kind {
	case OpPut, OpDelete, OpRequireAbsent, OpRequireEqual:
	default:
		return Op{}, fmt.Errorf("%w: unknown op kind %d", ErrMalformedCommand, kind)
	}
	bucket, err := d.field()
	if err != nil {
		return Op{}, err
	}
	op.Bucket = string(bucket)
	if op.Key, err = d.field(); err != nil {
		return Op{}, err
	}
	if hasValue(op.Kind) {
		if op.Value, err = d.field(); err != nil {
			return Op{}, err
		}
	}
	return op, nil
}
