package conformance

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Category says why a vector file is expected to fail.
type Category string

// The categories of an expected failure. Only CategoryNotOffered and
// CategoryVectorDefect are accepted reasons for a file to stay failing;
// CategoryOpen marks work not done yet and is reported as such.
const (
	// CategoryNotOffered: the operation or algorithm is deliberately not
	// offered and the server answers exactly as the specification requires
	// (Operation Not Supported, Cryptographic Failure, ...).
	CategoryNotOffered Category = "not-offered"
	// CategoryVectorDefect: the vector itself is wrong; the reason quotes
	// the line.
	CategoryVectorDefect Category = "vector-defect"
	// CategoryOpen: the file fails because keywarden does not do yet what
	// it asks; the reason is the first problem of the run.
	CategoryOpen Category = "open"
)

// Expectation is one line of the expected-results file.
type Expectation struct {
	// Version and File name the vector file ("v1.4", "SKFF-M-1-14.xml").
	Version, File string
	// Pass is the expected result.
	Pass bool
	// Category and Reason explain an expected failure; empty for a pass.
	Category Category
	Reason   string
}

// Key returns "version/file", the key of an expectation or outcome.
func (e Expectation) Key() string { return e.Version + "/" + e.File }

// Key returns "version/file".
func (o Outcome) Key() string { return o.Version + "/" + o.File }

// ParseExpected reads an expected-results file: one line per vector file,
// tab-separated "version file pass|fail category reason", lines starting
// with '#' and blank lines ignored. A failing line needs a known category
// and a reason.
func ParseExpected(r io.Reader) (map[string]Expectation, error) {
	out := map[string]Expectation{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			return nil, fmt.Errorf("conformance: expected results line %d: want at least 3 tab-separated fields, got %d", n, len(f))
		}
		e := Expectation{Version: f[0], File: f[1]}
		switch f[2] {
		case "pass":
			e.Pass = true
		case "fail":
			if len(f) < 5 || strings.TrimSpace(f[4]) == "" {
				return nil, fmt.Errorf("conformance: expected results line %d: a failing file needs a category and a reason", n)
			}
			e.Category, e.Reason = Category(f[3]), f[4]
			if !slices.Contains([]Category{CategoryNotOffered, CategoryVectorDefect, CategoryOpen}, e.Category) {
				return nil, fmt.Errorf("conformance: expected results line %d: unknown category %q", n, f[3])
			}
		default:
			return nil, fmt.Errorf("conformance: expected results line %d: result %q is neither pass nor fail", n, f[2])
		}
		if _, dup := out[e.Key()]; dup {
			return nil, fmt.Errorf("conformance: expected results line %d: %s listed twice", n, e.Key())
		}
		out[e.Key()] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("conformance: read expected results: %w", err)
	}
	return out, nil
}

// Compare checks outcomes against expectations and returns one problem per
// file that regressed (expected to pass, failed), ran without an
// expectation, or was expected but did not run. Files that pass although
// expected to fail are returned separately as improvements: they are not
// an error, but the expected-results file should be updated.
func Compare(expected map[string]Expectation, outcomes []Outcome) (problems, improvements []string) {
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o.Key()] = true
		e, ok := expected[o.Key()]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no line in the expected results (ran: %s)", o.Key(), passFail(o.Passed)))
		case e.Pass && !o.Passed:
			problems = append(problems, fmt.Sprintf("%s: regressed, expected to pass: %s", o.Key(), oneLine(o.Problem, 300)))
		case !e.Pass && o.Passed:
			improvements = append(improvements, fmt.Sprintf("%s: passes, expected to fail (%s)", o.Key(), e.Category))
		}
	}
	keys := make([]string, 0, len(expected))
	for k := range expected {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !seen[k] {
			problems = append(problems, fmt.Sprintf("%s: in the expected results but did not run", k))
		}
	}
	return problems, improvements
}

// UpdateExpected returns the expectations after a full run: a file that
// passed is expected to pass; a file that failed keeps its former reason if
// it was expected to fail, and is recorded as CategoryOpen with its first
// problem if it is new. A file expected to pass that failed stays expected
// to pass: accepting a regression takes a hand edit of the file.
func UpdateExpected(old map[string]Expectation, outcomes []Outcome) []Expectation {
	out := make([]Expectation, 0, len(outcomes))
	for _, o := range outcomes {
		e := Expectation{Version: o.Version, File: o.File, Pass: true}
		prev, had := old[o.Key()]
		switch {
		case o.Passed:
		case had && prev.Pass:
		case had:
			e = prev
		default:
			e.Pass, e.Category, e.Reason = false, CategoryOpen, oneLine(o.Problem, 300)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Expectation) int {
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return naturalCompare(a.File, b.File)
	})
	return out
}

// WriteExpected writes expectations in the format ParseExpected reads.
func WriteExpected(w io.Writer, exps []Expectation, command string) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "# Expected results of the OASIS KMIP vectors, one line per file:\n")
	fmt.Fprintf(b, "# version<TAB>file<TAB>pass|fail<TAB>category<TAB>reason\n")
	fmt.Fprintf(b, "# Categories of a failure: %s (deliberately not offered, answered as the\n", CategoryNotOffered)
	fmt.Fprintf(b, "# specification requires), %s (the vector is wrong; the reason quotes it),\n", CategoryVectorDefect)
	fmt.Fprintf(b, "# %s (not done yet). The normal test run fails when a file expected to pass fails.\n", CategoryOpen)
	fmt.Fprintf(b, "# `%s` adds new files and marks files that now pass;\n", command)
	fmt.Fprintf(b, "# it never turns a pass into a fail: that takes a hand edit.\n")
	for _, e := range exps {
		if e.Pass {
			fmt.Fprintf(b, "%s\t%s\tpass\n", e.Version, e.File)
			continue
		}
		fmt.Fprintf(b, "%s\t%s\tfail\t%s\t%s\n", e.Version, e.File, e.Category, strings.ReplaceAll(e.Reason, "\t", " "))
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("conformance: write expected results: %w", err)
	}
	return nil
}

func passFail(pass bool) string {
	if pass {
		return "pass"
	}
	return "fail"
}
