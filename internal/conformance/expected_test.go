package conformance

import (
	"strings"
	"testing"
)

func TestParseExpected(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		wantLen int
	}{
		{name: "pass and fail", in: "# c\n\nv1.4\tA.xml\tpass\nv1.4\tB.xml\tfail\tnot-offered\tno RNG Seed\n", wantLen: 2},
		{name: "fail without reason", in: "v1.4\tB.xml\tfail\topen\n", wantErr: "needs a category and a reason"},
		{name: "unknown category", in: "v1.4\tB.xml\tfail\tlater\twhy\n", wantErr: "unknown category"},
		{name: "bad result", in: "v1.4\tB.xml\tmaybe\n", wantErr: "neither pass nor fail"},
		{name: "duplicate", in: "v1.4\tA.xml\tpass\nv1.4\tA.xml\tpass\n", wantErr: "listed twice"},
		{name: "too few fields", in: "v1.4 A.xml pass\n", wantErr: "at least 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExpected(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen {
				t.Fatalf("got %d lines, want %d", len(got), tt.wantLen)
			}
			if e := got["v1.4/B.xml"]; e.Pass || e.Category != CategoryNotOffered || e.Reason != "no RNG Seed" {
				t.Errorf("B = %+v", e)
			}
		})
	}
}

func TestCompareExpected(t *testing.T) {
	expected := map[string]Expectation{
		"v1.4/A.xml": {Version: "v1.4", File: "A.xml", Pass: true},
		"v1.4/B.xml": {Version: "v1.4", File: "B.xml", Category: CategoryOpen, Reason: "r"},
		"v1.4/C.xml": {Version: "v1.4", File: "C.xml", Pass: true},
		"v1.4/D.xml": {Version: "v1.4", File: "D.xml", Pass: true},
	}
	outcomes := []Outcome{
		{Version: "v1.4", File: "A.xml", Problem: "broke"},
		{Version: "v1.4", File: "B.xml", Passed: true},
		{Version: "v1.4", File: "C.xml", Passed: true},
		{Version: "v1.4", File: "E.xml", Passed: true},
	}
	problems, improvements := Compare(expected, outcomes)
	want := []string{"v1.4/A.xml: regressed", "v1.4/E.xml: no line", "v1.4/D.xml: in the expected results but did not run"}
	if len(problems) != len(want) {
		t.Fatalf("problems = %q", problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, problems[i], w)
		}
	}
	if len(improvements) != 1 || !strings.HasPrefix(improvements[0], "v1.4/B.xml") {
		t.Errorf("improvements = %q", improvements)
	}
}

func TestUpdateExpected(t *testing.T) {
	old := map[string]Expectation{
		"v1.4/A.xml": {Version: "v1.4", File: "A.xml", Pass: true},
		"v1.4/B.xml": {Version: "v1.4", File: "B.xml", Category: CategoryNotOffered, Reason: "kept"},
	}
	outcomes := []Outcome{
		{Version: "v1.4", File: "C-10.xml", Problem: "new\tproblem"},
		{Version: "v1.4", File: "A.xml", Problem: "regressed"},
		{Version: "v1.4", File: "B.xml", Problem: "still"},
		{Version: "v1.4", File: "C-9.xml", Passed: true},
	}
	got := UpdateExpected(old, outcomes)
	var b strings.Builder
	if err := WriteExpected(&b, got, "cmd"); err != nil {
		t.Fatal(err)
	}
	back, err := ParseExpected(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b.String())
	}
	checks := []struct {
		key      string
		pass     bool
		category Category
		reason   string
	}{
		{"v1.4/A.xml", true, "", ""},
		{"v1.4/B.xml", false, CategoryNotOffered, "kept"},
		{"v1.4/C-9.xml", true, "", ""},
		{"v1.4/C-10.xml", false, CategoryOpen, "new problem"},
	}
	for _, c := range checks {
		t.Run(c.key, func(t *testing.T) {
			e := back[c.key]
			if e.Pass != c.pass || e.Category != c.category || e.Reason != c.reason {
				t.Errorf("%s = %+v", c.key, e)
			}
		})
	}
	if got[2].File != "C-9.xml" || got[3].File != "C-10.xml" {
		t.Errorf("order = %v", got)
	}
}

func TestWriteFileTable(t *testing.T) {
	outcomes := []Outcome{
		{Version: "v1.4", File: "CS-RNG-M-1-14.xml", Passed: true},
		{Version: "v1.4", File: "SUITEB_128-M-1-14.xml", Problem: "p"},
	}
	exp := map[string]Expectation{"v1.4/SUITEB_128-M-1-14.xml": {Category: CategoryNotOffered, Reason: "no ECDH"}}
	var b strings.Builder
	if err := WriteFileTable(&b, outcomes, exp); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| v1.4 | CS-RNG | CS-RNG-M-1-14.xml | pass | | |",
		"| v1.4 | SUITEB | SUITEB_128-M-1-14.xml | fail | not-offered | no ECDH |",
		"| not-offered | deliberately not offered; the server answers as the specification requires | 1 |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
