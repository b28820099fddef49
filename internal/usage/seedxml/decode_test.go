package seedxml

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedEvent is the seed document's sample record, as testdata/seed-sample.xml holds it.
var seedEvent = Event{
	DriveSSN:  "000007888422",
	VolSer:    "WXY662",
	DriveWWN:  "500507630240FBCC",
	KeyAlias1: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20",
	KeyAlias2: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21",
	Time:      time.Date(2011, 10, 18, 19, 35, 8, 0, time.UTC),
}

func TestDecodeSeedSample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "seed-sample.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, err := Decode(f)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(events) != 1 {
		t.Fatalf("Decode: %d events, want 1", len(events))
	}
	if got := events[0]; got != seedEvent {
		t.Fatalf("Decode:\n got %+v\nwant %+v", got, seedEvent)
	}
	if got, want := events[0].Time.Format(time.RFC3339), "2011-10-18T19:35:08Z"; got != want {
		t.Fatalf("time = %s, want %s", got, want)
	}

	// Export and import again: unchanged in meaning, and the time is
	// written exactly as the seed wrote it.
	var out strings.Builder
	if err := Encode(&out, events); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	for _, want := range []string{
		"<driveSSN>000007888422</driveSSN>", "<volSer>WXY662</volSer>",
		"<driveWWN>500507630240FBCC</driveWWN>",
		"<keyAlias1>Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20</keyAlias1>",
		"<keyAlias2>Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21</keyAlias2>",
		"<dateTime>Tue Oct 18 19:35:08 GMT 2011</dateTime>",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Encode output lacks %s:\n%s", want, out.String())
		}
	}
	again, err := Decode(strings.NewReader(out.String()))
	if err != nil {
		t.Fatalf("Decode(Encode): %v", err)
	}
	if len(again) != 1 || again[0] != seedEvent {
		t.Fatalf("Decode(Encode) = %+v, want [%+v]", again, seedEvent)
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		{"empty root", "<KeyUsageEvents/>", nil},
		{"declaration, comments, DOCTYPE", `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE KeyUsageEvents>
<!-- exported -->
<KeyUsageEvents>
  <!-- one -->
  <KeyUsageEvent><volSer>V1</volSer><!-- c --><dateTime>Tue Oct 18 19:35:08 GMT 2011</dateTime></KeyUsageEvent>
</KeyUsageEvents>
<!-- end -->
`, []Event{{VolSer: "V1", Time: seedEvent.Time}}},
		{"escapes, CDATA, trimming, empty optional", `<KeyUsageEvents><KeyUsageEvent>
<volSer>  A&amp;B&lt;<![CDATA[>"]]>  </volSer><driveWWN></driveWWN><keyAlias1/>
<dateTime>
  Tue Oct 18 15:35:08 EDT 2011
</dateTime></KeyUsageEvent></KeyUsageEvents>`, []Event{{VolSer: `A&B<>"`, Time: seedEvent.Time}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Decode = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// wrap builds a file whose first event starts on line 2 and whose children
// start on line 3, one per line.
func wrap(children ...string) string {
	return "<KeyUsageEvents>\n<KeyUsageEvent>\n" + strings.Join(children, "\n") + "\n</KeyUsageEvent>\n</KeyUsageEvents>\n"
}

const (
	okVol  = "<volSer>V1</volSer>"
	okDate = "<dateTime>Tue Oct 18 19:35:08 GMT 2011</dateTime>"
)

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		line     int
		contains string
	}{
		{"empty input", "", 1, "no <KeyUsageEvents>"},
		{"only a declaration", "<?xml version=\"1.0\"?>\n\n", 3, "no <KeyUsageEvents>"},
		{"not XML", "hello", 1, "unexpected text"},
		{"wrong root", "\n<Events/>", 2, "root element <Events>"},
		{"root attribute", "<KeyUsageEvents version=\"2\"/>", 1, "unexpected attribute version"},
		{"namespace", "<KeyUsageEvents xmlns=\"urn:x\"/>", 1, "want <KeyUsageEvents>"},
		{"second root", "<KeyUsageEvents/>\n\n<KeyUsageEvents/>", 3, "after </KeyUsageEvents>"},
		{"text in root", "<KeyUsageEvents>\nstray\n</KeyUsageEvents>", 2, `unexpected text "stray"`},
		{"unknown element in root", "<KeyUsageEvents>\n<Other/>\n</KeyUsageEvents>", 2, "unknown element <Other>"},
		{"unknown child", wrap(okVol, "<tapeSSN>1</tapeSSN>", okDate), 4, "unknown element <tapeSSN>"},
		{"child attribute", wrap(okVol, `<keyAlias1 enc="L">A</keyAlias1>`, okDate), 4, "unexpected attribute enc"},
		{"duplicate child", wrap(okVol, okDate, "<volSer>V2</volSer>"), 5, "<volSer> appears twice"},
		{"missing volSer", wrap("<driveSSN>1</driveSSN>", okDate), 2, "without a volSer"},
		{"empty volSer", wrap("<volSer>  </volSer>", okDate), 3, "volSer is empty"},
		{"missing dateTime", wrap(okVol, "<keyAlias1>A</keyAlias1>"), 2, "without a dateTime"},
		{"empty dateTime", wrap(okVol, "<dateTime/>"), 4, "dateTime is empty"},
		{"bad date", wrap(okVol, "<driveSSN>1</driveSSN>", "<keyAlias1>A</keyAlias1>", "<keyAlias2>B</keyAlias2>", "<dateTime>Tue Oct 99 19:35:08 GMT 2011</dateTime>"), 7, `dateTime "Tue Oct 99 19:35:08 GMT 2011": not a date`},
		{"unknown zone", wrap(okVol, "<dateTime>Tue Oct 18 19:35:08 XYZ 2011</dateTime>"), 4, `zone "XYZ"`},
		{"oversized value", wrap(okVol, "<keyAlias1>"+strings.Repeat("a", MaxValueBytes+1)+"</keyAlias1>", okDate), 4, "longer than 256 bytes"},
		{"huge value", wrap(okVol, "<keyAlias1>"+strings.Repeat("a", 100*MaxValueBytes)+"</keyAlias1>", okDate), 4, "longer than 256 bytes"},
		{"element in value", wrap("<volSer><b>V</b></volSer>", okDate), 3, "element <b> inside <volSer>"},
		{"comment in value", wrap("<volSer>V<!-- x -->1</volSer>", okDate), 3, "inside <volSer>"},
		{"text between children", wrap(okVol, "junk", okDate), 4, `unexpected text "junk"`},
		{"mismatched end tag", wrap(okVol, "<driveSSN>1</driveWWN>", okDate), 4, "element <driveSSN> closed by </driveWWN>"},
		{"unclosed", "<KeyUsageEvents>\n<KeyUsageEvent>\n" + okVol + "\n", 4, "unexpected EOF"},
		{"undefined entity", wrap("<volSer>&nbsp;</volSer>", okDate), 3, "invalid character entity"},
		{"invalid UTF-8", wrap("<volSer>V\xff</volSer>", okDate), 3, "invalid UTF-8"},
		{"control character", wrap("<volSer>V\x01</volSer>", okDate), 3, "illegal character"},
		{"other encoding", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<KeyUsageEvents/>", 1, "ISO-8859-1"},
		{"second event bad", "<KeyUsageEvents>\n<KeyUsageEvent>" + okVol + okDate + "</KeyUsageEvent>\n<KeyUsageEvent>\n" + okVol + "\n<dateTime>yesterday</dateTime></KeyUsageEvent></KeyUsageEvents>", 5, "not a date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events, err := Decode(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Decode succeeded with %+v, want an error", events)
			}
			if events != nil {
				t.Errorf("Decode returned %d events with its error, want none", len(events))
			}
			t.Log(err)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Decode error %v (%T) is not an *Error", err, err)
			}
			if se.Line != tc.line {
				t.Errorf("error %q: line %d, want %d", err, se.Line, tc.line)
			}
			if prefix := fmt.Sprintf("seedxml: line %d", tc.line); !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
}

func TestDecodeMaxEvents(t *testing.T) {
	ev := "<KeyUsageEvent>" + okVol + okDate + "</KeyUsageEvent>\n"
	in := "<KeyUsageEvents>\n" + strings.Repeat(ev, 3) + "</KeyUsageEvents>"
	if got, err := DecodeMax(strings.NewReader(in), 3); err != nil || len(got) != 3 {
		t.Fatalf("DecodeMax(3 events, 3) = %d events, %v; want 3, nil", len(got), err)
	}
	got, err := DecodeMax(strings.NewReader(in), 2)
	var se *Error
	if !errors.As(err, &se) || se.Line != 4 || !strings.Contains(err.Error(), "more than 2 events") || got != nil {
		t.Fatalf("DecodeMax(3 events, 2) = %d events, %v; want none and an error at line 4", len(got), err)
	}
	if got, err := DecodeMax(strings.NewReader(in), 0); err != nil || len(got) != 3 {
		t.Fatalf("DecodeMax(_, 0) uses the default: got %d events, %v", len(got), err)
	}
}

// failingReader returns some bytes, then an error.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Decode(&failingReader{data: "<KeyUsageEvents>\n<KeyUsageEvent>", err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Decode error %v does not wrap the read error", err)
	}
	var se *Error
	if !errors.As(err, &se) || se.Line != 2 {
		t.Fatalf("Decode error %v: want an *Error at line 2", err)
	}
}
