package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

func TestUsageRoutes(t *testing.T) {
	env := testenv.Start(t)
	sample, err := os.ReadFile("../usage/seedxml/testdata/seed-sample.xml")
	if err != nil {
		t.Fatal(err)
	}
	// A record served by the device front end, through the server's log.
	err = env.Server.Usage().Record(context.Background(), usage.Record{
		Protocol: usage.ProtocolDevice, Operation: "lto-write", Outcome: usage.OutcomeOK,
		DriveSerial: "LTO1", Volser: "LTO001", KeyID: "des01",
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := call(t, env, env.AdminTLS, "POST", "/v1/usage/import", string(sample)); a.status != http.StatusOK || !strings.Contains(string(a.body), `"imported":1`) {
		t.Fatalf("import: %d %s", a.status, a.body)
	}
	auditor := env.IssueClient(t, "aud-usage", pki.RoleAuditor)

	tests := []struct {
		name, path string
		status     int
		volsers    string
	}{
		{"by volser", "/v1/usage?volser=WXY662", 200, "WXY662"},
		{"by alias 2", "/v1/usage?alias=Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21", 200, "WXY662"},
		{"by key id", "/v1/usage?alias=des01", 200, "LTO001"},
		{"by serial", "/v1/usage?serial=LTO1", 200, "LTO001"},
		{"time range", "/v1/usage?from=2011-10-18T00:00:00Z&to=2011-10-19T00:00:00Z", 200, "WXY662"},
		{"all, oldest first", "/v1/usage", 200, "WXY662,LTO001"},
		{"limit", "/v1/usage?limit=1", 200, "WXY662"},
		{"nothing", "/v1/usage?volser=NOSUCH", 200, ""},
		{"bad time", "/v1/usage?from=yesterday", 400, ""},
		{"bad limit", "/v1/usage?limit=-1", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, env, auditor, "GET", tc.path, nil)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status != 200 {
				a.problem(t)
				return
			}
			var recs []usage.Record
			if err := json.Unmarshal(a.body, &recs); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Volser)
			}
			if s := strings.Join(got, ","); s != tc.volsers {
				t.Fatalf("volsers %q, want %q", s, tc.volsers)
			}
		})
	}

	t.Run("export", func(t *testing.T) {
		a := call(t, env, auditor, "GET", "/v1/usage/export", nil)
		if a.status != 200 || a.header.Get("Content-Type") != "application/xml" {
			t.Fatalf("%d %q", a.status, a.header.Get("Content-Type"))
		}
		for _, want := range []string{"<volSer>WXY662</volSer>", "<volSer>LTO001</volSer>", "<keyAlias1>des01</keyAlias1>"} {
			if !strings.Contains(string(a.body), want) {
				t.Errorf("export lacks %s:\n%s", want, a.body)
			}
		}
	})
	t.Run("malformed import names the line", func(t *testing.T) {
		bad := strings.Replace(string(sample), "<volSer>WXY662</volSer>", "<volSer>WXY662</volSer><volSer>X</volSer>", 1)
		a := call(t, env, env.AdminTLS, "POST", "/v1/usage/import", bad)
		if a.status != 400 || !strings.Contains(a.problem(t).Detail, "line 3") {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if a := call(t, env, auditor, "GET", "/v1/usage?volser=X", nil); strings.TrimSpace(string(a.body)) != "[]" {
			t.Fatalf("refused import left %s", a.body)
		}
	})
	t.Run("import over the body limit", func(t *testing.T) {
		huge := "<KeyUsageEvents>" + strings.Repeat(" ", 33<<20) + "</KeyUsageEvents>"
		if a := call(t, env, env.AdminTLS, "POST", "/v1/usage/import", huge); a.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
}
