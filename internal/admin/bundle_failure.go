package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/keywarden/keywarden/internal/bundle"
)

// Problem types of a bundle import whose write failed (POST
// /v1/labels/import-bundle). Their extension members list the writes.
const (
	// ProblemImportUndone: every write before the failed one was undone;
	// the server holds what it held before.
	ProblemImportUndone = problemTypePrefix + "import-undone"
	// ProblemImportIncomplete: some writes are left on the server (key
	// groups, which are never undone, or a label changed meanwhile).
	ProblemImportIncomplete = problemTypePrefix + "import-incomplete"
)

// importFailure holds the extension members of those problems.
type importFailure struct {
	// Failed is the write that failed.
	Failed bundle.Write `json:"failed"`
	// Written are the writes done before it, in order; Undone those
	// removed again; Left those still on the server, each with why.
	Written []bundle.Write `json:"written"`
	Undone  []bundle.Write `json:"undone"`
	Left    []bundle.Write `json:"left"`
}

// importFailed turns a failed bundle import into its problem: the status
// and detail of the cause when the client may see it (409 for a label
// created meanwhile under the same name, 400 for a key that does not
// match its certificate), else 500 and a fixed cause; and the lists of
// what was written, undone and left.
func importFailed(ie *bundle.ImportError) error {
	cause, internal := problemFor(ie.Err)
	status, why := cause.Status, cause.Detail
	if internal {
		status, why = http.StatusInternalServerError, "internal error; the cause is in the server log"
	}
	ext := importFailure{Failed: ie.Failed, Written: nonNil(ie.Written), Undone: nonNil(ie.Undone), Left: nonNil(ie.Left)}
	p := Problem{Type: ProblemImportUndone, Title: "Import failed and undone", Status: status, ext: ext}
	var detail strings.Builder
	fmt.Fprintf(&detail, "%s failed: %s. ", ie.Failed, why)
	if len(ie.Left) == 0 {
		detail.WriteString("Nothing was imported")
		if len(ie.Undone) > 0 {
			fmt.Fprintf(&detail, ": the writes before it were undone (%s)", joinWrites(ie.Undone, false))
		}
		detail.WriteString(".")
	} else {
		p.Type, p.Title = ProblemImportIncomplete, "Import failed, partly written"
		if len(ie.Undone) > 0 {
			fmt.Fprintf(&detail, "Undone: %s. ", joinWrites(ie.Undone, false))
		}
		fmt.Fprintf(&detail, "Left on this server: %s.", joinWrites(ie.Left, true))
	}
	p.Detail = detail.String()
	var names []string
	for _, w := range append([]bundle.Write{ie.Failed}, ie.Written...) {
		if w.As != "" {
			names = append(names, w.As)
		} else {
			names = append(names, w.Name)
		}
	}
	return &problemError{problem: p, cause: ie, internal: true, labels: names}
}

func joinWrites(ws []bundle.Write, details bool) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
		if details && w.Detail != "" {
			parts[i] += " (" + w.Detail + ")"
		}
	}
	return strings.Join(parts, ", ")
}

func nonNil(ws []bundle.Write) []bundle.Write {
	if ws == nil {
		return []bundle.Write{}
	}
	return ws
}

// asImportError returns err's *bundle.ImportError, if any.
func asImportError(err error) (*bundle.ImportError, bool) {
	var ie *bundle.ImportError
	ok := errors.As(err, &ie)
	return ie, ok
}
