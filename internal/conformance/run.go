package conformance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
)

// Conn carries one KMIP request to a server and returns its response.
type Conn interface {
	// RoundTrip sends one binary TTLV request message and returns the
	// binary TTLV response message.
	RoundTrip(ctx context.Context, req []byte) ([]byte, error)
	// Close releases the connection.
	Close() error
}

// Polling of repeated requests (see Suite.Run).
const (
	DefaultPollTimeout  = 3 * time.Minute
	DefaultPollInterval = time.Second
)

// Result is the outcome of running one suite.
type Result struct {
	// Name is the suite's file name.
	Name string
	// Exchanges holds one entry per exchange run, in order.
	Exchanges []ExchangeResult
	// NotRun counts the exchanges left out after an error stopped the run.
	NotRun int
}

// ExchangeResult is the outcome of one request/response exchange.
type ExchangeResult struct {
	// Index is the exchange's position in the file, from 0.
	Index int
	// Operations names the operations of the request's batch items.
	Operations []string
	// Err is set when the exchange could not be carried out (a variable
	// never bound, a transport or decoding error); the run stops there.
	Err error
	// Mismatches lists the differences from the expected response.
	Mismatches []Mismatch
	// Attempts counts the times the request was sent (more than one for a
	// polled exchange).
	Attempts int
}

// OK reports whether the exchange ran and matched.
func (e ExchangeResult) OK() bool { return e.Err == nil && len(e.Mismatches) == 0 }

func (e ExchangeResult) label() string {
	s := fmt.Sprintf("exchange %d (%s)", e.Index, strings.Join(e.Operations, ","))
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s
}

// Passed reports whether every exchange ran and matched.
func (r Result) Passed() bool {
	if r.NotRun > 0 || len(r.Exchanges) == 0 {
		return false
	}
	for _, e := range r.Exchanges {
		if !e.OK() {
			return false
		}
	}
	return true
}

// FirstProblem describes the first failing exchange, or "" if it passed.
// Query entries deliberately not offered are named only when nothing else
// differs (notoffered.go).
func (r Result) FirstProblem() string {
	for _, e := range r.Exchanges {
		m, ordinary := firstOrdinary(e.Mismatches)
		switch {
		case e.Err != nil:
			return fmt.Sprintf("%s: %v", e.label(), e.Err)
		case ordinary:
			return fmt.Sprintf("%s: %s", e.label(), m)
		}
	}
	if p := r.notOfferedProblem(); p != "" {
		return p
	}
	if !r.Passed() {
		return "no exchange ran"
	}
	return ""
}

// Report lists every problem, one per line.
func (r Result) Report() string {
	var b strings.Builder
	ok := 0
	for _, e := range r.Exchanges {
		if e.OK() {
			ok++
			continue
		}
		if e.Err != nil {
			fmt.Fprintf(&b, "%s: %v\n", e.label(), e.Err)
		}
		for _, m := range e.Mismatches {
			fmt.Fprintf(&b, "%s: %s\n", e.label(), m)
		}
	}
	fmt.Fprintf(&b, "%s: %d of %d exchanges matched", r.Name, ok, len(r.Exchanges)+r.NotRun)
	if r.NotRun > 0 {
		fmt.Fprintf(&b, ", %d not run", r.NotRun)
	}
	return b.String()
}

// Run replays the suite over conn and compares every response; see RunWith.
func (s *Suite) Run(ctx context.Context, conn Conn) Result {
	return s.RunWith(ctx, conn, NewProvenance())
}

// RunWith replays the suite over conn and compares every response. prov
// tells which objects the server generated, across the suites run against
// one server (TL-M-3 reads the key TL-M-2 had the server create); RunWith
// adds the objects this suite makes the server generate.
//
// Literal dates of the requests are moved by the time elapsed since the
// vector was recorded (its first literal response time stamp), so that a
// date "two minutes after the create" stays so. An exchange whose read-only
// request repeats the previous one but expects another answer (the state of
// a key once its deactivation date has passed) is a poll: it is resent
// every PollInterval until it matches or PollTimeout runs out.
//
// The run stops at the first exchange that cannot be carried out, and goes
// on after mismatches so that the report shows all of them.
func (s *Suite) RunWith(ctx context.Context, conn Conn, prov *Provenance) Result {
	st := newRunState(prov, s.recordedAt())
	res := Result{Name: s.Name}
	for i, ex := range s.Exchanges {
		poll := i > 0 && readOnly(ex.Request) && sameTree(ex.Request, s.Exchanges[i-1].Request) &&
			!sameTree(ex.Response, s.Exchanges[i-1].Response)
		er := s.exchange(ctx, st, conn, i, poll)
		res.Exchanges = append(res.Exchanges, er)
		if er.Err != nil {
			res.NotRun = len(s.Exchanges) - i - 1
			break
		}
	}
	return res
}

// exchange carries out exchange i, polling if asked to.
func (s *Suite) exchange(ctx context.Context, st *runState, conn Conn, i int, poll bool) ExchangeResult {
	timeout, interval := s.PollTimeout, s.PollInterval
	if timeout <= 0 {
		timeout = DefaultPollTimeout
	}
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	deadline := time.Now().Add(timeout)
	for attempt := 1; ; attempt++ {
		er, bound := st.exchange(ctx, conn, i, s.Exchanges[i])
		er.Attempts = attempt
		done := !poll || er.Err != nil || len(er.Mismatches) == 0 ||
			time.Now().Add(interval).After(deadline)
		if !done {
			select {
			case <-ctx.Done():
				done = true
			case <-time.After(interval):
			}
		}
		if done {
			if er.Err == nil {
				st.bound = bound
			}
			return er
		}
	}
}

// readOnly reports whether every batch item of a request is read-only.
func readOnly(req *Node) bool {
	items := req.ChildrenWith(kmip.TagBatchItem)
	for _, bi := range items {
		if op, _ := bi.Child(kmip.TagOperation).enumValue(); !readOnlyOps[op] {
			return false
		}
	}
	return len(items) > 0
}

// recordedAt returns the first literal time stamp of the expected
// responses: when the vector was recorded; zero if it has none.
func (s *Suite) recordedAt() time.Time {
	for _, ex := range s.Exchanges {
		ts := ex.Response.Child(kmip.TagResponseHeader).Child(kmip.TagTimeStamp)
		if ts != nil && !ts.isVar() {
			if t, ok := ts.Value.(time.Time); ok {
				return t
			}
		}
	}
	return time.Time{}
}

// sameTree reports whether two vector trees are identical.
func sameTree(a, b *Node) bool {
	if a.Tag != b.Tag || a.Type != b.Type || a.Var != b.Var || a.Offset != b.Offset ||
		len(a.Children) != len(b.Children) || !equalValues(a.Value, b.Value) {
		return false
	}
	for i := range a.Children {
		if !sameTree(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}
