package audit

import (
	"encoding/hex"
	"hash"
	"strconv"
	"time"
	"unicode/utf8"
)

// The trail's hot path writes every record with appendRecord instead of
// json.Marshal: the same bytes (a test compares the two on many events),
// without reflection, into a buffer the trail reuses. decodeRecord still
// reads with encoding/json.

// appendRecord appends the line (with its newline) of event e at seq after
// prev to dst, and returns it with its MAC (hex). h is the chain's HMAC.
// It gives the bytes encodeRecord gives.
func appendRecord(dst []byte, h hash.Hash, seq uint64, prev string, e *Event) ([]byte, string, error) {
	start := len(dst)
	dst, ok := appendRecordBody(dst, seq, prev, e)
	if !ok {
		// A time JSON cannot hold (year outside 0…9999): encoding/json
		// names the error.
		return encodeRecordJSON(dst[:start], h, seq, prev, *e)
	}
	var sum [macHexLen / 2]byte
	h.Reset()
	h.Write(macDomain)
	h.Write(dst[start:])
	mac := h.Sum(sum[:0])
	dst = dst[:len(dst)-1] // the body's closing brace
	dst = append(dst, `,"mac":"`...)
	at := len(dst)
	dst = hex.AppendEncode(dst, mac)
	macHex := string(dst[at:])
	dst = append(dst, "\"}\n"...)
	return dst, macHex, nil
}

// encodeRecordJSON is appendRecord through encoding/json.
func encodeRecordJSON(dst []byte, h hash.Hash, seq uint64, prev string, e Event) ([]byte, string, error) {
	line, mac, err := encodeRecord(h, seq, prev, e)
	if err != nil {
		return dst, "", err
	}
	return append(dst, line...), mac, nil
}

// appendRecordBody appends the JSON of recordBody{seq, *e, prev} as
// json.Marshal writes it: the same members in the same order, the same
// omitempty rules and the same string escaping. ok is false when e.Time
// is outside the years 0…9999, which JSON cannot hold.
func appendRecordBody(b []byte, seq uint64, prev string, e *Event) ([]byte, bool) {
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendMember(b, `,"node":`, e.Node, true)
	b = appendMember(b, `,"type":`, string(e.Type), false)
	b = appendMember(b, `,"protocol":`, string(e.Protocol), false)
	b = appendMember(b, `,"operation":`, e.Operation, false)
	b = append(b, `,"client":{`...)
	n := len(b)
	c := &e.Client
	for _, m := range [...]struct{ name, v string }{
		{`"fingerprint":`, c.Fingerprint}, {`"name":`, c.Name}, {`"role":`, c.Role},
		{`"device_id":`, c.DeviceID}, {`"serial":`, c.Serial}, {`"wwn":`, c.WWN},
	} {
		if m.v == "" {
			continue
		}
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, m.name...)
		b = appendJSONString(b, m.v)
	}
	b = append(b, '}')
	b = appendMember(b, `,"remote":`, e.Remote, true)
	b = appendList(b, `,"objects":`, e.Objects)
	b = appendList(b, `,"labels":`, e.Labels)
	b = appendMember(b, `,"volser":`, e.Volser, true)
	b = appendMember(b, `,"outcome":`, string(e.Outcome), false)
	b = appendMember(b, `,"reason":`, e.Reason, true)
	if e.Latency != 0 {
		b = append(b, `,"latency_ns":`...)
		b = strconv.AppendInt(b, int64(e.Latency), 10)
	}
	b = appendMember(b, `,"prev":`, prev, false)
	return append(b, '}'), true
}

// appendMember appends name and the JSON string v, or nothing when
// omitEmpty and v is empty.
func appendMember(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, name...)
	return appendJSONString(b, v)
}

// appendList appends name and the JSON array of list, or nothing when
// list is empty (omitempty).
func appendList(b []byte, name string, list []string) []byte {
	if len(list) == 0 {
		return b
	}
	b = append(b, name...)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s as encoding/json writes a string (with its
// default HTML escaping): '"' and '\\' escaped, control characters as
// \b \f \n \r \t or \u00XX, '<' '>' '&' as \u003c \u003e \u0026, invalid
// UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
