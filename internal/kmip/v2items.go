package kmip

import (
	"context"
	"errors"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// One batch item of a 2.x request that cannot be translated (an attribute
// the server does not keep, a hardware-only storage mask, a malformed
// payload) fails alone: the translation carries it through ovh's decoder
// as a placeholder (kmip2.Translation.Failed), markUntranslated puts its
// operation back with the failure as its payload, and every handler is
// wrapped (refuseUntranslated) to answer that failure instead of running.
// The item is therefore audited, counted and answered like any failed
// item, and the Batch Error Continuation Option decides whether the items
// after it run (Stop: no; Continue: yes; Undo: no, and the earlier items
// are undone, undo.go).

// untranslated is the request payload of a batch item the translation
// could not translate, or that ovh's decoder refused (decode_items.go).
type untranslated struct {
	op  kmip.Operation
	err *Error
}

// Operation returns the item's operation.
func (u *untranslated) Operation() kmip.Operation { return u.op }

// markUntranslated restores, in the decoded 1.4 message, the operation of
// each item that failed translation, with the failure as its payload.
func markUntranslated(msg *kmip.RequestMessage, t *kmip2.Translation) {
	for i := range msg.BatchItem {
		if op, err := t.Failed(i); err != nil {
			msg.BatchItem[i].Operation = op
			msg.BatchItem[i].RequestPayload = &untranslated{op: op, err: translationErrorFor(err, op)}
		}
	}
}

// translationErrorFor maps an item's translation failure to what the
// client sees: as translationError, except that Adjust Attribute's error
// table names a derived attribute Read Only Attribute.
func translationErrorFor(err error, op kmip.Operation) *Error {
	if op == kmip2.OperationAdjustAttribute && errors.Is(err, kmip2.ErrReadOnly) {
		return errAdjustReadOnly
	}
	return translationError(err)
}

// refuseUntranslated wraps every handler of the table: an untranslated
// item is answered with its failure, the handler does not run.
func (r *Router) refuseUntranslated() {
	for op, f := range r.ops {
		r.ops[op] = func(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
			if u, ok := p.(*untranslated); ok {
				return nil, u.err
			}
			return f(ctx, b, p)
		}
	}
}
