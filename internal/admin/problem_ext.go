package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/keywarden/keywarden/internal/audit"
)

// problemError is an error a handler answers with a problem it built
// itself, extension members included (Problem.ext). Its Error is the
// internal cause, for the log; the client sees the problem only.
type problemError struct {
	problem Problem
	cause   error
	// internal: the cause is logged as an error (see problemFor).
	internal bool
	// labels are names the request's audit event records (label and key
	// group names, never key material).
	labels []string
}

func (e *problemError) Error() string { return e.cause.Error() }

func (e *problemError) Unwrap() error { return e.cause }

// marshalProblem encodes p with its extension members, if any, after the
// standard ones in one JSON object.
func marshalProblem(p Problem) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil || p.ext == nil {
		return body, err
	}
	ext, err := json.Marshal(p.ext)
	if err != nil {
		return nil, fmt.Errorf("admin: encode problem extensions: %w", err)
	}
	if len(ext) < 2 || ext[0] != '{' || ext[len(ext)-1] != '}' {
		return nil, errors.New("admin: problem extensions are not a JSON object")
	}
	if bytes.Equal(ext, []byte("{}")) {
		return body, nil
	}
	out := append(body[:len(body)-1:len(body)-1], ',')
	return append(out, ext[1:]...), nil
}

// maxProblemNames bounds the names a problemError adds to an event.
const maxProblemNames = 64

// noteProblem adds to ev the names a problemError carries.
func noteProblem(ev *audit.Event, err error) {
	var pe *problemError
	if !errors.As(err, &pe) {
		return
	}
	for i, n := range pe.labels {
		if i == maxProblemNames {
			ev.Labels = append(ev.Labels, fmt.Sprintf("(%d more)", len(pe.labels)-i))
			break
		}
		ev.Labels = append(ev.Labels, clip(n))
	}
}
