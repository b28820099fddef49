package seedxml

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Encode writes events as a KeyUsageEvents file: an XML declaration, then one
// <KeyUsageEvent> per event with all six children in the order driveSSN,
// volSer, driveWWN, keyAlias1, keyAlias2, dateTime (empty optional values as
// empty elements), values XML-escaped, times in Java's Date.toString format
// in GMT, whole seconds.
//
// Every event is checked before anything is written, so that Decode reads
// back exactly what was given (times in UTC, truncated to the second): a
// value must be UTF-8 of XML characters, at most MaxValueBytes, without
// surrounding white space; volSer must not be empty; Time must be set and its
// UTC year within 1..9999. A refused event is named by its index.
func Encode(w io.Writer, events []Event) error {
	for i := range events {
		if err := checkEvent(&events[i]); err != nil {
			return &Error{Msg: fmt.Sprintf("event %d: %v", i, err), Err: err}
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	bw.WriteString("<" + elemRoot + ">\n")
	for i := range events {
		ev := &events[i]
		bw.WriteString("<" + elemEvent + ">\n")
		for _, f := range [...]struct{ name, value string }{
			{elemDriveSSN, ev.DriveSSN},
			{elemVolSer, ev.VolSer},
			{elemDriveWWN, ev.DriveWWN},
			{elemKeyAlias1, ev.KeyAlias1},
			{elemKeyAlias2, ev.KeyAlias2},
			{elemDateTime, FormatJavaTime(ev.Time)},
		} {
			bw.WriteString("<" + f.name + ">")
			xml.EscapeText(bw, []byte(f.value)) // errors surface from Flush
			bw.WriteString("</" + f.name + ">\n")
		}
		bw.WriteString("</" + elemEvent + ">\n")
	}
	bw.WriteString("</" + elemRoot + ">\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("seedxml: write: %w", err)
	}
	return nil
}

// checkEvent refuses an event Decode could not read back unchanged.
func checkEvent(ev *Event) error {
	for _, f := range [...]struct{ name, value string }{
		{elemDriveSSN, ev.DriveSSN},
		{elemVolSer, ev.VolSer},
		{elemDriveWWN, ev.DriveWWN},
		{elemKeyAlias1, ev.KeyAlias1},
		{elemKeyAlias2, ev.KeyAlias2},
	} {
		if err := checkValue(f.value); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if ev.VolSer == "" {
		return errEmptyVolSer
	}
	if ev.Time.IsZero() {
		return errNoTime
	}
	if y := ev.Time.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("dateTime: year %d outside 1..9999", y)
	}
	return nil
}

// Encode's refusals that carry no detail.
var (
	errEmptyVolSer = errors.New("volSer is empty")
	errNoTime      = errors.New("dateTime is not set")
	errSpace       = errors.New("surrounding white space would be trimmed on import")
)

// checkValue refuses a value that would not survive a round trip.
func checkValue(v string) error {
	if len(v) > MaxValueBytes {
		return fmt.Errorf("longer than %d bytes", MaxValueBytes)
	}
	if strings.Trim(v, xmlSpace) != v {
		return errSpace
	}
	for i, r := range v {
		if r == utf8.RuneError && !strings.HasPrefix(v[i:], "\uFFFD") {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if !isXMLChar(r) {
			return fmt.Errorf("character %U at byte %d is not allowed in XML", r, i)
		}
	}
	return nil
}

// isXMLChar reports whether r is a Char of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
