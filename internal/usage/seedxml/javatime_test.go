package seedxml

import (
	"testing"
	"time"
)

func TestParseJavaTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	ok := []struct {
		name, in string
		want     time.Time
	}{
		{"seed sample", "Tue Oct 18 19:35:08 GMT 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"UTC", "Tue Oct 18 19:35:08 UTC 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"EDT", "Tue Oct 18 15:35:08 EDT 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"PST crosses midnight", "Sat Dec 31 20:00:00 PST 2011", utc(2012, 1, 1, 4, 0, 0)},
		{"Java custom zone", "Wed Oct 19 01:05:08 GMT+05:30 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"GMT minus hours", "Tue Oct 18 17:35:08 GMT-2 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"numeric offset", "Tue Oct 18 20:35:08 +0100 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"numeric offset colon", "Tue Oct 18 18:35:08 -01:00 2011", utc(2011, 10, 18, 19, 35, 8)},
		{"unpadded day and extra spaces", "Sat  Oct  1 00:00:00  GMT 2011", utc(2011, 10, 1, 0, 0, 0)},
		{"lower case", "tue oct 18 19:35:08 gmt 2011", utc(2011, 10, 18, 19, 35, 8)},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseJavaTime(tc.in)
			if err != nil {
				t.Fatalf("ParseJavaTime(%q): %v", tc.in, err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("ParseJavaTime(%q) = %v, want %v in UTC", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"day 99", "Tue Oct 99 19:35:08 GMT 2011"},
		{"Feb 30", "Thu Feb 30 19:35:08 GMT 2012"},
		{"wrong weekday", "Mon Oct 18 19:35:08 GMT 2011"},
		{"unknown abbreviation", "Tue Oct 18 19:35:08 XYZ 2011"},
		{"ambiguous IST", "Tue Oct 18 19:35:08 IST 2011"},
		{"hour 24", "Tue Oct 18 24:35:08 GMT 2011"},
		{"short time", "Tue Oct 18 9:35:08 GMT 2011"},
		{"two-digit year", "Tue Oct 18 19:35:08 GMT 11"},
		{"signed year", "Tue Oct 18 19:35:08 GMT +011"},
		{"offset 24h", "Tue Oct 18 19:35:08 +2400 2011"},
		{"offset minutes 60", "Tue Oct 18 19:35:08 GMT+01:60 2011"},
		{"missing zone", "Tue Oct 18 19:35:08 2011"},
		{"RFC 3339", "2011-10-18T19:35:08Z"},
		{"zero time", "Mon Jan 01 00:00:00 GMT 0001"},
		{"before year 1 in UTC", "Mon Jan 01 00:30:00 +0100 0001"},
		{"year 0", "Sat Jan 01 12:00:00 GMT 0000"},
		{"after 9999 in UTC", "Fri Dec 31 23:30:00 -0100 9999"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseJavaTime(tc.in)
			t.Logf("%q: %v", tc.in, err)
			if err == nil {
				t.Fatalf("ParseJavaTime(%q) = %v, want an error", tc.in, got)
			}
		})
	}
}

func TestFormatJavaTime(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	got := FormatJavaTime(time.Date(2011, 10, 18, 14, 35, 8, 999, est))
	if want := "Tue Oct 18 19:35:08 GMT 2011"; got != want {
		t.Fatalf("FormatJavaTime = %q, want %q", got, want)
	}
	if got := FormatJavaTime(time.Date(2011, 10, 1, 0, 0, 0, 0, time.UTC)); got != "Sat Oct 01 00:00:00 GMT 2011" {
		t.Fatalf("FormatJavaTime pads the day: got %q", got)
	}
}
