package kmip

import (
	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// Asynchronous requests from KMIP 2.0 and 2.1 clients. A 2.x batch item
// whose request header sets the Asynchronous Indicator is answered
// Operation Pending with an Asynchronous Correlation Value, as for a 1.x
// client (op_async.go): the item runs at once through the translation,
// and its 1.4 answer is held. What its 2.x answer depends on is held with
// it: the item's translation state (attribute references, Ephemeral flag,
// ...) and its 2.x Result Reason. A 2.x Poll puts them in place of the Poll
// item's own before the answer is translated, so the polled result reads
// as the synchronous answer would have, in the polling client's 2.x
// version. A result a 1.x request made is translated as the answer of its
// operation; a result a 2.x request made is not given to a 1.x Poll, since
// it may hold attributes only 2.x defines (v2attrs.go). An unknown
// correlation value is Invalid Asynchronous Correlation Value for a 2.x
// client (Item Not Found for a 1.x one).

// held2 is the 2.x part of a held result.
type held2 struct {
	state  kmip2.ItemState
	reason kmip.ResultReason // zero: keep the 1.x reason
}

// Failures of Poll.
var (
	errNoPending  = kerr(kmip.ResultReasonItemNotFound, "no pending operation with this correlation value")
	errPendingIn2 = kerr(kmip.ResultReasonItemNotFound, "the pending operation was requested in KMIP 2.x: poll it in KMIP 2.x")
)

func init() {
	reasons2 = append(reasons2, struct {
		err    error
		reason kmip.ResultReason
	}{errNoPending, kmip2.ResultReasonInvalidAsynchronousCorrelationValue})
}

// held returns the 2.x part of the result of the i-th item, to hold with
// it; nil for a 1.x request.
func (s *v2State) held(i int) *held2 {
	if s == nil {
		return nil
	}
	h := &held2{state: s.t.Item(i)}
	if i < len(s.reasons) {
		h.reason = s.reasons[i]
	}
	return h
}

// polled makes the i-th item, a Poll answered by a held result of the
// operation op, translate as that result.
func (s *v2State) polled(i int, op kmip.Operation, h *held2) {
	if s == nil {
		return
	}
	if h == nil {
		h = &held2{state: kmip2.ItemOf(op)}
	}
	s.t.SetItem(i, h.state)
	s.setReason(i, h.reason)
}

// setReason records the 2.x Result Reason of the i-th item.
func (s *v2State) setReason(i int, reason kmip.ResultReason) {
	if s == nil || i < 0 {
		return
	}
	for len(s.reasons) <= i {
		s.reasons = append(s.reasons, 0)
	}
	s.reasons[i] = reason
}
