package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"unicode/utf8"
)

// Record is one line of the audit file: an Event with its place in the
// chain. On disk it is a JSON object on one line whose last member is
// "mac"; the MAC covers the exact bytes of the line before that member
// (see docs/audit.md).
type Record struct {
	// Seq numbers the records of a trail from 1, without gaps, across
	// rotated files.
	Seq uint64 `json:"seq"`
	Event
	// Prev is the MAC of the previous record (hex), empty for seq 1.
	Prev string `json:"prev"`
	// MAC is HMAC-SHA256 under the chain key over the record's bytes
	// before it (hex).
	MAC string `json:"mac"`
}

// recordBody is what the MAC covers, in the order written.
type recordBody struct {
	Seq uint64 `json:"seq"`
	Event
	Prev string `json:"prev"`
}

// Limits that keep one record small and on one line.
const (
	maxField   = 1024 // bytes of one string field
	maxList    = 64   // entries of Objects or Labels
	maxLineLen = 1 << 20
	macHexLen  = 2 * sha256.Size
)

// macDomain separates the chain's MACs from any other use of the key.
var macDomain = []byte("keywarden audit chain v1\x00")

// macSuffixLen is len(`,"mac":"` + 64 hex digits + `"}`).
const macSuffixLen = len(`,"mac":"`) + macHexLen + len(`"}`)

// chainMAC computes the MAC of body (the line without its mac member,
// closed by '}') with h, a reset HMAC-SHA256 under the chain key.
func chainMAC(h hash.Hash, body []byte) []byte {
	h.Reset()
	h.Write(macDomain)
	h.Write(body)
	return h.Sum(nil)
}

// newMAC returns an HMAC-SHA256 under key.
func newMAC(key []byte) hash.Hash { return hmac.New(sha256.New, key) }

// encodeRecord returns the line (with its newline) of event e at seq after
// prev, and its MAC.
func encodeRecord(h hash.Hash, seq uint64, prev string, e Event) ([]byte, string, error) {
	body, err := json.Marshal(recordBody{Seq: seq, Event: e, Prev: prev})
	if err != nil {
		return nil, "", fmt.Errorf("audit: encode record %d: %w", seq, err)
	}
	mac := hex.EncodeToString(chainMAC(h, body))
	line := make([]byte, 0, len(body)+macSuffixLen+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, `,"mac":"`...)
	line = append(line, mac...)
	line = append(line, "\"}\n"...)
	return line, mac, nil
}

// errMalformed reports a line that is not a record.
var errMalformed = errors.New("not an audit record")

// errBadMAC reports a record whose MAC does not match its contents.
var errBadMAC = errors.New("MAC does not match the record")

// decodeRecord parses a line (without its newline) and checks its MAC with
// h. A record whose MAC is wrong is returned too (when it parses), with
// errBadMAC, so that the report can name its seq.
func decodeRecord(h hash.Hash, line []byte) (Record, error) {
	var r Record
	if len(line) < macSuffixLen+2 || !bytes.HasPrefix(line[len(line)-macSuffixLen:], []byte(`,"mac":"`)) ||
		!bytes.HasSuffix(line, []byte(`"}`)) {
		return r, errMalformed
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, errMalformed
	}
	want, err := hex.DecodeString(string(line[len(line)-macSuffixLen+8 : len(line)-2]))
	if err != nil || r.MAC != string(line[len(line)-macSuffixLen+8:len(line)-2]) {
		return r, errMalformed
	}
	body := make([]byte, 0, len(line)-macSuffixLen+1)
	body = append(body, line[:len(line)-macSuffixLen]...)
	body = append(body, '}')
	if !hmac.Equal(chainMAC(h, body), want) {
		return r, errBadMAC
	}
	return r, nil
}

// sanitize bounds the event's strings and lists so that a record stays
// small; JSON encoding keeps it on one line whatever the strings hold.
func sanitize(e Event) Event {
	e.Time = e.Time.UTC()
	for _, s := range []*string{&e.Node, &e.Operation, &e.Remote, &e.Volser, &e.Reason,
		&e.Client.Fingerprint, &e.Client.Name, &e.Client.Role, &e.Client.DeviceID, &e.Client.Serial, &e.Client.WWN} {
		*s = clip(*s)
	}
	e.Type, e.Protocol, e.Outcome = Type(clip(string(e.Type))), Protocol(clip(string(e.Protocol))), Outcome(clip(string(e.Outcome)))
	e.Objects = clipList(e.Objects)
	e.Labels = clipList(e.Labels)
	return e
}

// clip cuts s to maxField bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	s = s[:maxField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func clipList(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	n := min(len(list), maxList)
	out := make([]string, n, n+1)
	for i := range n {
		out[i] = clip(list[i])
	}
	if len(list) > maxList {
		out = append(out, fmt.Sprintf("… %d more", len(list)-maxList))
	}
	return out
}
