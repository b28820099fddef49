package seedxml

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode checks that Decode never panics, returns events or an *Error
// but not both, and that whatever it accepts encodes and decodes again to the
// same events.
func FuzzDecode(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "seed-sample.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("<KeyUsageEvents/>"))
	f.Add([]byte(wrap(okVol, okDate, "<keyAlias1> a&amp;b&#x9;c </keyAlias1>", "<driveWWN><![CDATA[x]]></driveWWN>")))
	f.Add([]byte(wrap(okVol, "<dateTime>Wed Oct 19 01:05:08 GMT+05:30 2011</dateTime>")))
	f.Add([]byte(wrap(okVol, "<dateTime>Tue Oct 18 19:35:08 +0100 2011</dateTime>")))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := DecodeMax(bytes.NewReader(data), 1000)
		if err != nil {
			if events != nil {
				t.Fatalf("Decode returned %d events with error %v", len(events), err)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Decode error %v is a %T, want *Error", err, err)
			}
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, events); err != nil {
			t.Fatalf("Encode of decoded events: %v\nevents: %+v", err, events)
		}
		again, err := DecodeMax(bytes.NewReader(out.Bytes()), 1000)
		if err != nil {
			t.Fatalf("Decode(Encode): %v\n%s", err, out.Bytes())
		}
		if len(events) == 0 {
			events = nil
		}
		if !reflect.DeepEqual(again, events) {
			t.Fatalf("round trip changed the events\n got %+v\nwant %+v", again, events)
		}
	})
}
