package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/keywarden/keywarden/client"
)

// printImportFailure shows an import whose write failed: the server's
// explanation, then each write with what became of it (undone, or left on
// the server with why), on stderr; with -o json the problem document on
// stdout. The error it returns says whether anything is left.
func printImportFailure(stdout, stderr io.Writer, output string, e *client.BundleImportError) error {
	summary := "label import failed; nothing was imported"
	if len(e.Left) > 0 {
		summary = fmt.Sprintf("label import failed; %d write(s) left on the server (listed as left)", len(e.Left))
	}
	if output == "json" {
		doc := struct {
			Type    string               `json:"type"`
			Title   string               `json:"title"`
			Status  int                  `json:"status"`
			Detail  string               `json:"detail,omitempty"`
			Failed  client.BundleWrite   `json:"failed"`
			Written []client.BundleWrite `json:"written"`
			Undone  []client.BundleWrite `json:"undone"`
			Left    []client.BundleWrite `json:"left"`
		}{e.Problem.Type, e.Problem.Title, e.Problem.Status, e.Problem.Detail, e.Failed, e.Written, e.Undone, e.Left}
		if err := printJSON(stdout, doc); err != nil {
			return err
		}
		return fmt.Errorf("%s", summary)
	}
	fmt.Fprintf(stderr, "%v\n\n", e.Problem)
	tw := tabwriter.NewWriter(stderr, 0, 4, 2, ' ', 0)
	row(tw, "KIND", "NAME", "AS", "RESULT", "DETAIL")
	failedListed := false
	for _, w := range e.Written {
		result, detail := "undone", ""
		if l, ok := findWrite(e.Left, w); ok {
			result, detail = "left", l.Detail
		}
		if w.Kind == e.Failed.Kind && w.Name == e.Failed.Name && w.As == e.Failed.As {
			result, failedListed = "failed, "+result, true
		}
		row(tw, w.Kind, w.Name, w.As, result, detail)
	}
	if !failedListed {
		row(tw, e.Failed.Kind, e.Failed.Name, e.Failed.As, "failed", "nothing of it was written")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(e.Left) == 0 {
		fmt.Fprintln(stderr, "\nThe server holds what it held before the import.")
	} else {
		fmt.Fprintln(stderr, "\nWhat is listed as left stays on the server: keep it, or retire it, before importing again.")
	}
	return fmt.Errorf("%s", summary)
}

// findWrite returns the write of ws that names the same object as w.
func findWrite(ws []client.BundleWrite, w client.BundleWrite) (client.BundleWrite, bool) {
	for _, x := range ws {
		if x.Kind == w.Kind && x.Name == w.Name && x.As == w.As {
			return x, true
		}
	}
	return client.BundleWrite{}, false
}
