package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// controlChars is every byte below 0x20, and DEL.
func controlChars() string {
	var b strings.Builder
	for c := range 0x20 {
		b.WriteByte(byte(c))
	}
	b.WriteByte(0x7f)
	return b.String()
}

// TestAppendRecordMatchesJSON: the hand-written encoder of the hot path
// writes exactly the bytes (and so the MAC) of the json.Marshal encoder,
// for ordinary events and for every escaping and omission rule.
func TestAppendRecordMatchesJSON(t *testing.T) {
	full := event(7)
	full.Client.Fingerprint, full.Client.Name = strings.Repeat("ab", 32), "CN=drive"
	full.Objects, full.Reason = []string{"id-1", "id-2"}, "denied by policy"
	odd := "quote\" back\\slash <html> & " + controlChars() + " bad\xff\xfeutf8 \u2028\u2029 é漢🙂 end"
	tests := []struct {
		name string
		seq  uint64
		prev string
		ev   Event
	}{
		{"ordinary", 1, "", event(1)},
		{"every field", 42, strings.Repeat("0f", 32), full},
		{"zero event", 3, "p", Event{}},
		{"empty lists are omitted", 4, "p", Event{Objects: []string{}, Labels: []string{}}},
		{"empty strings in lists", 5, "p", Event{Objects: []string{""}, Labels: []string{"", "x"}}},
		{"escaping in every string", 6, odd, Event{
			Node: odd, Type: Type(odd), Protocol: Protocol(odd), Operation: odd, Remote: odd, Volser: odd,
			Outcome: Outcome(odd), Reason: odd, Objects: []string{odd, odd}, Labels: []string{odd},
			Client: Client{Fingerprint: odd, Name: odd, Role: odd, DeviceID: odd, Serial: odd, WWN: odd},
		}},
		{"truncated rune at the end", 7, "p", Event{Reason: "abc\xe6\xbc"}},
		{"nanoseconds and negative latency", 8, "p", Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 123456780, time.UTC), Latency: -5}},
		{"another time zone", 9, "p", Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 1, time.FixedZone("X", -(5*3600+30*60)))}},
		{"largest seq", ^uint64(0), "p", event(2)},
		{"year 0", 10, "p", Event{Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantMAC, err := encodeRecord(newMAC(testKey), tt.seq, tt.prev, tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("earlier bytes\n")
			got, gotMAC, err := appendRecord(bytes.Clone(prefix), newMAC(testKey), tt.seq, tt.prev, &tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("the bytes before the record changed: %q", got)
			}
			if got = got[len(prefix):]; !bytes.Equal(got, want) || gotMAC != wantMAC {
				t.Fatalf("appendRecord\n got %s (mac %s)\nwant %s (mac %s)", got, gotMAC, want, wantMAC)
			}
			if _, err := decodeRecord(newMAC(testKey), bytes.TrimSuffix(got, []byte("\n"))); err != nil {
				t.Fatalf("decodeRecord: %v", err)
			}
		})
	}
	t.Run("a year JSON cannot hold fails as encoding/json does", func(t *testing.T) {
		ev := Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		if _, _, err := encodeRecord(newMAC(testKey), 1, "", ev); err == nil {
			t.Fatal("encodeRecord accepted year 10000")
		}
		if _, _, err := appendRecord(nil, newMAC(testKey), 1, "", &ev); err == nil {
			t.Fatal("appendRecord accepted year 10000")
		}
	})
}

// FuzzAppendRecord compares the two encoders on arbitrary strings.
func FuzzAppendRecord(f *testing.F) {
	f.Add("drive-1", "Get", "x<y>&\"z\\", uint64(1))
	f.Add("\xff", "\u2028", controlChars(), uint64(1<<40))
	f.Fuzz(func(t *testing.T, a, b, c string, seq uint64) {
		ev := Event{Time: time.Unix(int64(seq%(1<<34)), int64(seq%1e9)).UTC(), Node: a, Operation: b, Reason: c,
			Client: Client{Name: a, Serial: c}, Objects: []string{a, b}, Labels: []string{c}, Latency: time.Duration(seq)}
		want, wantMAC, err := encodeRecord(newMAC(testKey), seq, c, ev)
		if err != nil {
			t.Fatal(err)
		}
		got, gotMAC, err := appendRecord(nil, newMAC(testKey), seq, c, &ev)
		if err != nil || !bytes.Equal(got, want) || gotMAC != wantMAC {
			t.Fatalf("appendRecord\n got %s (%v)\nwant %s", got, err, want)
		}
	})
}
