package usage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"time"
)

// Record encodings. A stored record's plaintext (before sealing) starts
// with its format: records written before the compact encoding are JSON
// objects and start with '{'; newer ones start with recordCompact.
const (
	recordCompact byte = 1
	recordJSON    byte = '{'
)

// The times a record may hold: years 0 to 9999, as its JSON listing has
// four-digit years.
var (
	minUnix = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 1
)

// errDecode reports a plaintext that is not a record in a known encoding.
var errDecode = errors.New("usage: malformed record encoding")

// appendRecord appends the compact encoding of r, without its ID (the
// record's key, bound to the sealed value as additional data): the format
// byte, the time as signed varint Unix seconds and unsigned varint
// nanoseconds, then every string field in a fixed order, each as an
// unsigned varint length and its bytes.
func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, recordCompact)
	dst = binary.AppendVarint(dst, r.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(r.Time.Nanosecond()))
	for _, s := range r.fields() {
		dst = binary.AppendUvarint(dst, uint64(len(*s)))
		dst = append(dst, *s...)
	}
	return dst
}

// fields returns the string fields of r (all but ID) in encoding order.
func (r *Record) fields() [11]*string {
	return [11]*string{&r.Protocol, &r.Operation, &r.Outcome, &r.Reason, &r.DeviceID,
		&r.DriveSerial, &r.WWN, &r.Volser, &r.Alias1, &r.Alias2, &r.KeyID}
}

// decodeRecord decodes the plaintext of record id in either encoding.
func decodeRecord(id, plain []byte) (Record, error) {
	if len(plain) == 0 {
		return Record{}, errDecode
	}
	switch plain[0] {
	case recordCompact:
		f, err := parseCompact(plain[1:])
		if err != nil {
			return Record{}, err
		}
		return f.record(string(id)+string(plain[1:]), 0, len(id)), nil
	case recordJSON:
		var r Record
		if err := json.Unmarshal(plain, &r); err != nil {
			return Record{}, err
		}
		if r.ID != string(id) {
			return Record{}, errDecode
		}
		return r, nil
	default:
		return Record{}, errDecode
	}
}

// compactFields is a checked compact record body: its time and the
// bounds of its string fields within the body (at most 64 KiB: the field
// sizes keep a record under 3 KiB).
type compactFields struct {
	sec    int64
	nsec   int32
	bounds [11][2]uint16
}

// parseCompact checks the compact encoding after its format byte and
// locates its fields, without allocating.
func parseCompact(body []byte) (compactFields, error) {
	var f compactFields
	if len(body) > math.MaxUint16 {
		return f, errDecode
	}
	sec, n := binary.Varint(body)
	if n <= 0 || sec < minUnix || sec > maxUnix {
		return f, errDecode
	}
	off := n
	nsec, n := binary.Uvarint(body[off:])
	if n <= 0 || nsec >= uint64(time.Second) {
		return f, errDecode
	}
	off += n
	f.sec, f.nsec = sec, int32(nsec)
	for i := range f.bounds {
		l, n := binary.Uvarint(body[off:])
		if n <= 0 || l > MaxFieldBytes || l > uint64(len(body)-off-n) {
			return f, errDecode
		}
		off += n
		f.bounds[i] = [2]uint16{uint16(off), uint16(off + int(l))}
		off += int(l)
	}
	if off != len(body) {
		return f, errDecode
	}
	return f, nil
}

// record builds the record whose id and body were copied into s at base:
// s[base:base+idLen] is the id, the body follows. Every field is a
// substring of s, so records decoded together share one allocation.
func (f *compactFields) record(s string, base, idLen int) Record {
	body := base + idLen
	r := Record{ID: s[base:body], Time: time.Unix(f.sec, int64(f.nsec)).UTC()}
	for i, p := range r.fields() {
		*p = s[body+int(f.bounds[i][0]) : body+int(f.bounds[i][1])]
	}
	return r
}
