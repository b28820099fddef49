package kmip2

import (
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Asynchronous requests (KMIP 2.x section 8, Asynchronous Indicator; Poll
// and Cancel). The server holds the result of an asynchronous batch item
// until the client polls it, possibly in another message. That message's
// translation describes the Poll item, not the held one: the state of the
// held item's own translation (what its answer's rewrite depends on, such
// as the attribute references of a Get Attributes or an Ephemeral flag) is
// therefore kept with the result and put back in place of the Poll item's
// state before the answer is translated.

// ResultReasonInvalidAsynchronousCorrelationValue is the KMIP 2.x reason
// for a Poll whose Asynchronous Correlation Value names no outstanding
// operation.
const ResultReasonInvalidAsynchronousCorrelationValue kmip.ResultReason = 0x2B

// ItemState is the translation state of one batch item, kept with a result
// held for Poll. The zero value translates a 1.4 answer as the answer of
// an operation the translation did not rewrite.
type ItemState struct {
	s itemState
}

// ItemOf is the translation state of a batch item of the operation op that
// a 1.x request made (it had no 2.x form to remember).
func ItemOf(op kmip.Operation) ItemState {
	return ItemState{s: itemState{op: op}}
}

// Item returns the translation state of the i-th batch item.
func (t *Translation) Item(i int) ItemState {
	if t == nil || i < 0 || i >= len(t.items) {
		return ItemState{}
	}
	return ItemState{s: t.items[i]}
}

// SetItem makes s the translation state of the i-th batch item, for the
// answer's translation (a polled result answers in place of the Poll
// item). It does nothing when the request has no such item.
func (t *Translation) SetItem(i int, s ItemState) {
	if t == nil || i < 0 || i >= len(t.items) {
		return
	}
	t.items[i] = s.s
}

func init() {
	ttlv.RegisterEnum(kmip.TagResultReason, map[kmip.ResultReason]string{
		ResultReasonInvalidAsynchronousCorrelationValue: "InvalidAsynchronousCorrelationValue",
	})
}
