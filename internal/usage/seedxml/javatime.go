package seedxml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// javaLayout is Java's Date.toString pattern "EEE MMM dd HH:mm:ss zzz yyyy"
// with the zone written as GMT (Encode always writes UTC).
const javaLayout = "Mon Jan 02 15:04:05 GMT 2006"

// zoneOffsets are the zone abbreviations ParseJavaTime accepts by name: UTC
// and the RFC 822 zones (North American; CST is Central Standard Time).
// Abbreviations outside this table are refused rather than guessed: Go's
// time.Parse would read an unknown abbreviation as offset zero, which silently
// shifts the time, and several abbreviations Java prints are ambiguous (IST,
// BST, CST in Asia/Shanghai).
var zoneOffsets = map[string]int{
	"GMT": 0, "UTC": 0, "UT": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600,
	"CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600,
	"PST": -8 * 3600, "PDT": -7 * 3600,
}

// FormatJavaTime writes t in UTC the way Java's Date.toString does in the GMT
// zone: "Tue Oct 18 19:35:08 GMT 2011". Fractions of a second are dropped.
func FormatJavaTime(t time.Time) string {
	return t.UTC().Format(javaLayout)
}

// ParseJavaTime reads a Java Date.toString value, "EEE MMM dd HH:mm:ss zzz
// yyyy", fields separated by white space, and returns it in UTC. Accepted:
//   - day of month with or without a leading zero; weekday and month as
//     English three-letter abbreviations (any case); the weekday must match
//     the date;
//   - a four-digit year;
//   - zone: GMT, UTC, UT, or an RFC 822 North American zone (EST, EDT, CST,
//     CDT, MST, MDT, PST, PDT); Java's custom-zone form GMT+hh:mm, GMT-h,
//     GMT+hhmm; or a bare numeric offset +hhmm, -hh:mm, +hh (up to 23:59);
//   - a result within years 1..9999 in UTC, other than the zero time.
func ParseJavaTime(s string) (time.Time, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return time.Time{}, errors.New("want 6 fields: weekday month day hh:mm:ss zone year")
	}
	offset, err := parseZone(f[4])
	if err != nil {
		return time.Time{}, err
	}
	if _, ok := digits(f[5]); !ok || len(f[5]) != 4 {
		return time.Time{}, fmt.Errorf("year %q: want 4 digits", f[5])
	}
	// time.Parse checks the names, ranges and the day against the month.
	local, err := time.Parse("Mon Jan 2 15:04:05 2006", strings.Join([]string{f[0], f[1], f[2], f[3], f[5]}, " "))
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, errors.New(strings.TrimPrefix(pe.Message, ": "))
		}
		if errors.As(err, &pe) {
			return time.Time{}, fmt.Errorf("%q: not a valid %s", pe.ValueElem, pe.LayoutElem)
		}
		return time.Time{}, err
	}
	if len(f[2]) > 2 || len(f[3]) != 8 {
		return time.Time{}, errors.New("want dd and hh:mm:ss")
	}
	if got := local.Weekday().String()[:3]; !strings.EqualFold(got, f[0]) {
		return time.Time{}, fmt.Errorf("weekday %s does not match the date (a %s)", f[0], got)
	}
	t := local.Add(-time.Duration(offset) * time.Second).UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("year %d in UTC: outside 1..9999", t.Year())
	}
	if t.IsZero() {
		return time.Time{}, errors.New("the zero time (an unset date)")
	}
	return t, nil
}

// parseZone returns the offset east of UTC, in seconds, of a zone field.
func parseZone(z string) (int, error) {
	if off, ok := zoneOffsets[strings.ToUpper(z)]; ok {
		return off, nil
	}
	num := z
	if len(z) > 3 && strings.EqualFold(z[:3], "GMT") {
		num = z[3:]
	}
	if num == "" || (num[0] != '+' && num[0] != '-') {
		return 0, fmt.Errorf("zone %q: not GMT, UTC, an RFC 822 zone or a numeric offset", z)
	}
	off, ok := parseOffset(num[1:])
	if !ok {
		return 0, fmt.Errorf("zone %q: bad offset", z)
	}
	if num[0] == '-' {
		off = -off
	}
	return off, nil
}

// parseOffset reads h, hh, hhmm or hh:mm (hours ≤ 23, minutes ≤ 59).
func parseOffset(s string) (int, bool) {
	var hs, ms string
	switch {
	case len(s) == 1 || len(s) == 2:
		hs = s
	case len(s) == 4:
		hs, ms = s[:2], s[2:]
	case len(s) == 5 && s[2] == ':':
		hs, ms = s[:2], s[3:]
	default:
		return 0, false
	}
	h, ok := digits(hs)
	if !ok || h > 23 {
		return 0, false
	}
	m := 0
	if ms != "" {
		if m, ok = digits(ms); !ok || m > 59 {
			return 0, false
		}
	}
	return h*3600 + m*60, true
}

// digits parses a string of ASCII digits only (no sign).
func digits(s string) (int, bool) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
