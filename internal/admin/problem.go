package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/keywarden/keywarden/internal/cluster"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
)

// ProblemContentType is the media type of every error body (RFC 9457).
const ProblemContentType = "application/problem+json"

// problemTypePrefix starts every problem type URI; the rest is a short
// stable slug such as "not-found".
const problemTypePrefix = "urn:keywarden:problem:"

// Problem is an RFC 9457 problem document, the body of every error answer.
type Problem struct {
	// Type identifies the kind of problem: urn:keywarden:problem:SLUG.
	Type string `json:"type"`
	// Title is the short, fixed summary of that kind.
	Title string `json:"title"`
	// Status repeats the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence; it never holds internal error text.
	Detail string `json:"detail,omitempty"`
	// ext holds the extension members of some problems (RFC 9457 §3.2),
	// written after the standard ones; see problem_ext.go.
	ext any
}

// detailFrom says what an error's Detail shows.
type detailFrom int

const (
	// detailError shows err.Error(): devices' errors are written to be
	// shown to administrators.
	detailError detailFrom = iota
	// detailSentinel shows only the sentinel's own message.
	detailSentinel
)

// errorMapping maps one domain sentinel to its HTTP answer.
type errorMapping struct {
	err    error
	status int
	slug   string
	title  string
	detail detailFrom
}

// errorTable is the one place where domain errors become HTTP statuses.
// The first entry whose sentinel matches (errors.Is) wins.
var errorTable = []errorMapping{
	{devices.ErrNotFound, http.StatusNotFound, "not-found", "Not found", detailError},
	{devices.ErrExists, http.StatusConflict, "exists", "Already exists", detailError},
	{devices.ErrInvalid, http.StatusBadRequest, "invalid", "Invalid value", detailError},
	{devices.ErrGroupInUse, http.StatusConflict, "group-in-use", "Group in use", detailError},
	{devices.ErrRevoked, http.StatusUnauthorized, "revoked", "Certificate revoked", detailError},
	{devices.ErrPending, http.StatusForbidden, "pending", "Waiting for approval", detailError},
	{devices.ErrRejected, http.StatusForbidden, "rejected", "Refused", detailError},
	{devices.ErrDisabled, http.StatusForbidden, "disabled", "Disabled", detailError},
	{devices.ErrUnauthorized, http.StatusForbidden, "forbidden", "Forbidden", detailError},

	{labels.ErrNotFound, http.StatusNotFound, "not-found", "Not found", detailError},
	{labels.ErrExists, http.StatusConflict, "exists", "Already exists", detailError},
	{labels.ErrInvalid, http.StatusBadRequest, "invalid", "Invalid value", detailError},
	{labels.ErrNoPrivateKey, http.StatusConflict, "no-private-key", "No private key", detailError},
	{labels.ErrInHSM, http.StatusConflict, "key-in-hsm", "Private key in the HSM", detailError},
	{labels.ErrNoHSM, http.StatusConflict, "no-hsm", "No HSM", detailError},
	{labels.ErrHardwareRequired, http.StatusConflict, "hardware-required", "Hardware protection required", detailError},
	{keygroups.ErrNotFound, http.StatusNotFound, "not-found", "Not found", detailError},
	{keygroups.ErrExists, http.StatusConflict, "exists", "Already exists", detailError},
	{keygroups.ErrInvalid, http.StatusBadRequest, "invalid", "Invalid value", detailError},

	{keys.ErrNotFound, http.StatusNotFound, "not-found", "Not found", detailSentinel},
	{keys.ErrWrongState, http.StatusConflict, "wrong-state", "Wrong state", detailSentinel},
	{keys.ErrObjectArchived, http.StatusConflict, "archived", "Object archived", detailSentinel},
	{keys.ErrConflict, http.StatusConflict, "conflict", "Concurrent update", detailSentinel},
	{keys.ErrPermissionDenied, http.StatusForbidden, "forbidden", "Forbidden", detailSentinel},
	{keys.ErrInvalidField, http.StatusBadRequest, "invalid", "Invalid value", detailSentinel},
	{keys.ErrMissingData, http.StatusBadRequest, "invalid", "Invalid value", detailSentinel},
	{keys.ErrNotSupported, http.StatusBadRequest, "not-supported", "Not supported", detailSentinel},
	{keys.ErrCorrupted, http.StatusInternalServerError, "corrupted", "Stored record corrupted", detailSentinel},

	{cluster.ErrUnavailable, http.StatusServiceUnavailable, "no-quorum", "No quorum", detailError},
	{cluster.ErrNotLeader, http.StatusServiceUnavailable, "not-leader", "Leader changed", detailError},
	{cluster.ErrUnknownNode, http.StatusNotFound, "not-found", "Not found", detailError},

	{context.DeadlineExceeded, http.StatusServiceUnavailable, "timeout", "Timeout", detailSentinel},
	{context.Canceled, http.StatusServiceUnavailable, "canceled", "Canceled", detailSentinel},
}

// requestError is an error the API itself finds in a request (bad JSON,
// a bad query parameter, a wrong role); its message is written to be shown.
type requestError struct {
	status int
	slug   string
	title  string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// badRequest returns a 400 requestError.
func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, "invalid", "Invalid value", fmt.Sprintf(format, args...)}
}

// forbidden returns a 403 requestError.
func forbidden(format string, args ...any) error {
	return &requestError{http.StatusForbidden, "forbidden", "Forbidden", fmt.Sprintf(format, args...)}
}

// unauthorized returns a 401 requestError.
func unauthorized(format string, args ...any) error {
	return &requestError{http.StatusUnauthorized, "unauthorized", "Unauthorized", fmt.Sprintf(format, args...)}
}

// notFound returns a 404 requestError.
func notFound(format string, args ...any) error {
	return &requestError{http.StatusNotFound, "not-found", "Not found", fmt.Sprintf(format, args...)}
}

// problemFor turns err into the problem the client sees. internal is true
// when the cause is not one the client may see (it must be logged).
func problemFor(err error) (p Problem, internal bool) {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.problem, pe.internal
	}
	var re *requestError
	if errors.As(err, &re) {
		return Problem{Type: problemTypePrefix + re.slug, Title: re.title, Status: re.status, Detail: re.msg}, false
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return Problem{
			Type: problemTypePrefix + "too-large", Title: "Request body too large", Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the request body is larger than this route's limit of %d bytes", tooBig.Limit),
		}, false
	}
	for _, m := range errorTable {
		if !errors.Is(err, m.err) {
			continue
		}
		detail := m.err.Error()
		if m.detail == detailError {
			detail = err.Error()
		}
		return Problem{Type: problemTypePrefix + m.slug, Title: m.title, Status: m.status, Detail: detail},
			m.status >= http.StatusInternalServerError
	}
	return Problem{
		Type: problemTypePrefix + "internal", Title: "Internal error", Status: http.StatusInternalServerError,
		Detail: "the server could not complete the request; the cause is in its log",
	}, true
}

// writeProblem writes p as the response.
func writeProblem(w http.ResponseWriter, p Problem) {
	body, err := marshalProblem(p)
	if err != nil { // a Problem always encodes; keep the status regardless
		body = []byte(`{"type":"` + problemTypePrefix + `internal","title":"Internal error","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}
