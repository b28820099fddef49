package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageCommands imports the seed's sample metadata through a running
// server, lists it by volser and by label, exports it, and checks that a
// malformed file is refused with its line and imports nothing.
func TestUsageCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	sample := filepath.Join("..", "..", "internal", "usage", "seedxml", "testdata", "seed-sample.xml")

	stdout := mustRun(t, env, "usage", "import", "--format", "xml", sample)
	if !strings.Contains(stdout, "imported 1 usage records") {
		t.Fatalf("usage import printed:\n%s", stdout)
	}

	for _, tc := range []struct{ name, flag, value string }{
		{"by volser", "--volser", "WXY662"},
		{"by label 1", "--label", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"},
		{"by label 2", "--label", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"},
		{"by drive", "--serial", "000007888422"},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			var recs []map[string]any
			decodeJSON(t, mustRun(t, env, "usage", "list", tc.flag, tc.value, "-o", "json"), &recs)
			if len(recs) != 1 {
				t.Fatalf("got %d records: %v", len(recs), recs)
			}
			r := recs[0]
			if r["volser"] != "WXY662" || r["drive_serial"] != "000007888422" || r["wwn"] != "500507630240FBCC" ||
				r["alias1"] != "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20" || r["alias2"] != "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21" ||
				r["time"] != "2011-10-18T19:35:08Z" || r["outcome"] != "ok" {
				t.Fatalf("record %v", r)
			}
		})
	}
	t.Run("list finds nothing for another volser", func(t *testing.T) {
		var recs []map[string]any
		decodeJSON(t, mustRun(t, env, "usage", "list", "--volser", "NOSUCH", "-o", "json"), &recs)
		if len(recs) != 0 {
			t.Fatalf("got %v", recs)
		}
	})
	t.Run("list --since after the record", func(t *testing.T) {
		var recs []map[string]any
		decodeJSON(t, mustRun(t, env, "usage", "list", "--since", "2012-01-01T00:00:00Z", "-o", "json"), &recs)
		if len(recs) != 0 {
			t.Fatalf("got %v", recs)
		}
	})
	t.Run("export", func(t *testing.T) {
		xml := mustRun(t, env, "usage", "export", "--format", "xml")
		for _, want := range []string{"<volSer>WXY662</volSer>", "<driveSSN>000007888422</driveSSN>",
			"<driveWWN>500507630240FBCC</driveWWN>", "<keyAlias1>Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20</keyAlias1>",
			"<keyAlias2>Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21</keyAlias2>", "<dateTime>Tue Oct 18 19:35:08 GMT 2011</dateTime>"} {
			if !strings.Contains(xml, want) {
				t.Errorf("export lacks %s:\n%s", want, xml)
			}
		}
	})
	t.Run("malformed import is refused whole", func(t *testing.T) {
		data, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.Replace(string(data), "</KeyUsageEvent></KeyUsageEvents>",
			"</KeyUsageEvent>\n<KeyUsageEvent><volSer>BAD001</volSer><dateTime>never</dateTime></KeyUsageEvent></KeyUsageEvents>", 1)
		bad = strings.Replace(bad, "WXY662", "NEW001", 1)
		file := filepath.Join(t.TempDir(), "bad.xml")
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runEnv(t, env, "usage", "import", "--format", "xml", file)
		if code == 0 || !strings.Contains(stderr, "line 9") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var recs []map[string]any
		decodeJSON(t, mustRun(t, env, "usage", "list", "--volser", "NEW001", "-o", "json"), &recs)
		if len(recs) != 0 {
			t.Fatalf("a refused import left %v", recs)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if _, _, code := runEnv(t, env, "usage", "export", "--format", "csv"); code == 0 {
			t.Fatal("export --format csv succeeded")
		}
	})
}
