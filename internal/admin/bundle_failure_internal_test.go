package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/bundle"
	"github.com/keywarden/keywarden/internal/labels"
)

// TestImportFailedProblem checks the problem of a failed bundle import:
// its type says whether anything is left, its status and detail follow
// the cause (a fixed text for an internal one), and its extension members
// list the writes.
func TestImportFailedProblem(t *testing.T) {
	a := bundle.Write{Kind: bundle.KindLabel, Name: "A"}
	r := bundle.Write{Kind: bundle.KindLabel, Name: "R", As: "R_IMPORTED"}
	g1 := bundle.Write{Kind: bundle.KindKeyGroup, Name: "G1", Detail: bundle.DetailKeyGroupKept}
	for _, tc := range []struct {
		name       string
		ie         *bundle.ImportError
		wantType   string
		wantStatus int
		wantDetail []string
		notDetail  string
		wantNames  []string
	}{
		{"a key group is left; an internal cause is hidden",
			&bundle.ImportError{Failed: bundle.Write{Kind: bundle.KindKeyGroup, Name: "G2"}, Err: errors.New("bolt: disk I/O error at page 77"),
				Written: []bundle.Write{a, r, {Kind: bundle.KindKeyGroup, Name: "G1"}}, Undone: []bundle.Write{a, r}, Left: []bundle.Write{g1}},
			ProblemImportIncomplete, http.StatusInternalServerError,
			[]string{`key group "G2" failed: internal error`, `Undone: label "A", label "R" (as "R_IMPORTED")`, `Left on this server: key group "G1" (key groups are not undone`},
			"disk I/O", []string{"G2", "A", "R_IMPORTED", "G1"}},
		{"everything undone; the cause is shown",
			&bundle.ImportError{Failed: bundle.Write{Kind: bundle.KindLabel, Name: "B"}, Err: fmt.Errorf("%w: %q", labels.ErrExists, "B"),
				Written: []bundle.Write{a}, Undone: []bundle.Write{a}},
			ProblemImportUndone, http.StatusConflict,
			[]string{`label "B" failed: labels: label already exists`, `Nothing was imported: the writes before it were undone (label "A")`},
			"Left", []string{"B", "A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := importFailed(tc.ie)
			p, internal := problemFor(fmt.Errorf("admin: wrapped: %w", err))
			if !internal || p.Type != tc.wantType || p.Status != tc.wantStatus {
				t.Fatalf("problem %+v (internal %v)", p, internal)
			}
			rec := httptest.NewRecorder()
			writeProblem(rec, p)
			if rec.Code != tc.wantStatus || rec.Header().Get("Content-Type") != ProblemContentType {
				t.Fatalf("answer %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var body struct {
				Type, Title, Detail string
				Status              int
				Failed              bundle.Write
				Written             []bundle.Write
				Undone              []bundle.Write
				Left                []bundle.Write
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if body.Type != tc.wantType || body.Status != tc.wantStatus || body.Failed != tc.ie.Failed ||
				!slices.Equal(body.Written, tc.ie.Written) || !slices.Equal(body.Undone, tc.ie.Undone) ||
				len(body.Left) != len(tc.ie.Left) || body.Left == nil {
				t.Fatalf("body %s", rec.Body)
			}
			for _, want := range tc.wantDetail {
				if !strings.Contains(body.Detail, want) {
					t.Errorf("detail %q lacks %q", body.Detail, want)
				}
			}
			if strings.Contains(body.Detail, tc.notDetail) {
				t.Errorf("detail %q shows %q", body.Detail, tc.notDetail)
			}
			var ev audit.Event
			noteProblem(&ev, err)
			if !slices.Equal(ev.Labels, tc.wantNames) {
				t.Errorf("audit labels %v, want %v", ev.Labels, tc.wantNames)
			}
		})
	}
}

func TestMarshalProblemWithoutExtensions(t *testing.T) {
	p := Problem{Type: problemTypePrefix + "x", Title: "X", Status: 400}
	got, err := marshalProblem(p)
	want, _ := json.Marshal(p)
	if err != nil || string(got) != string(want) {
		t.Fatalf("%s, %v; want %s", got, err, want)
	}
}
