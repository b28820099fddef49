package seedxml

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
	}{
		{"none", nil},
		{"seed sample", []Event{seedEvent}},
		{"several, optional values empty", []Event{
			seedEvent,
			{VolSer: "LTO001", KeyAlias1: "des1f", Time: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
			{VolSer: "V", Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
			{VolSer: "V", Time: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		}},
		{"characters that need escaping", []Event{{
			DriveSSN:  `<&>"'`,
			VolSer:    "a\tb\nc\rd",
			DriveWWN:  "]]>",
			KeyAlias1: "Étiquette_ключ_🔑",
			KeyAlias2: "\uFFFD",
			Time:      seedEvent.Time,
		}}},
		{"longest values", []Event{{
			DriveSSN: strings.Repeat("s", MaxValueBytes), VolSer: strings.Repeat("v", MaxValueBytes),
			DriveWWN: strings.Repeat("w", MaxValueBytes), KeyAlias1: strings.Repeat("1", MaxValueBytes),
			KeyAlias2: strings.Repeat("é", MaxValueBytes/2), Time: seedEvent.Time,
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := Encode(&b, tc.events); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := Decode(strings.NewReader(b.String()))
			if err != nil {
				t.Fatalf("Decode(Encode): %v\n%s", err, b.String())
			}
			if !reflect.DeepEqual(got, tc.events) {
				t.Fatalf("Decode(Encode(x)) != x\n got %+v\nwant %+v\nfile:\n%s", got, tc.events, b.String())
			}
		})
	}
}

func TestEncodeNormalisesTime(t *testing.T) {
	in := []Event{{VolSer: "V", Time: time.Date(2011, 10, 18, 15, 35, 8, 123456789, time.FixedZone("EDT", -4*3600))}}
	var b strings.Builder
	if err := Encode(&b, in); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !strings.Contains(b.String(), "<dateTime>Tue Oct 18 19:35:08 GMT 2011</dateTime>") {
		t.Fatalf("Encode did not write the time in GMT, whole seconds:\n%s", b.String())
	}
	got, err := Decode(strings.NewReader(b.String()))
	if err != nil || len(got) != 1 || !got[0].Time.Equal(seedEvent.Time) {
		t.Fatalf("Decode = %+v, %v; want the time %v", got, err, seedEvent.Time)
	}
}

func TestEncodeRefuses(t *testing.T) {
	ok := Event{VolSer: "V", Time: seedEvent.Time}
	with := func(f func(*Event)) Event { e := ok; f(&e); return e }
	tests := []struct {
		name     string
		ev       Event
		contains string
	}{
		{"empty volSer", with(func(e *Event) { e.VolSer = "" }), "volSer is empty"},
		{"unset time", with(func(e *Event) { e.Time = time.Time{} }), "dateTime is not set"},
		{"year 10000", with(func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), "dateTime: year 10000 outside 1..9999"},
		{"too long", with(func(e *Event) { e.KeyAlias1 = strings.Repeat("a", MaxValueBytes+1) }), "keyAlias1: longer than 256"},
		{"leading space", with(func(e *Event) { e.DriveSSN = " 1" }), "driveSSN: surrounding white space"},
		{"trailing newline", with(func(e *Event) { e.VolSer = "V\n" }), "volSer: surrounding white space"},
		{"invalid UTF-8", with(func(e *Event) { e.DriveWWN = "a\xffb" }), "driveWWN: invalid UTF-8 at byte 1"},
		{"control character", with(func(e *Event) { e.KeyAlias2 = "a\x00" }), "keyAlias2: character U+0000"},
		{"non-character", with(func(e *Event) { e.KeyAlias2 = "a\uFFFE" }), "keyAlias2: character U+FFFE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &countingWriter{}
			err := Encode(w, []Event{ok, tc.ev})
			if err == nil {
				t.Fatal("Encode succeeded, want an error")
			}
			var se *Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "event 1: "+tc.contains) {
				t.Fatalf("Encode error %q (%T): want an *Error containing %q", err, err, "event 1: "+tc.contains)
			}
			if w.n != 0 {
				t.Fatalf("Encode wrote %d bytes before refusing", w.n)
			}
		})
	}
}

func TestEncodeWriteError(t *testing.T) {
	boom := errors.New("disk full")
	if err := Encode(&countingWriter{err: boom}, []Event{seedEvent}); !errors.Is(err, boom) {
		t.Fatalf("Encode error %v does not wrap the write error", err)
	}
}

// countingWriter counts bytes written, or fails with err.
type countingWriter struct {
	n   int
	err error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.n += len(p)
	return len(p), nil
}
