package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// setAttribute serves the 2.x Set Attribute: an attribute the object does
// not have is added, one it has exactly once is modified, one it has more
// than once is refused (Multi Valued Attribute). It goes through the Add
// and Modify Attribute handlers, so their rules and the 2.x pre-checks
// apply (read-only attributes among them).
func (r *Router) setAttribute(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req, ok := p.(*kmip2.SetAttributeRequestPayload)
	if b.v2 == nil || !ok {
		return nil, errOperationNotSupp
	}
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	a := req.Attribute
	a.AttributeIndex = nil
	switch n := len(o.AttrAll(a.AttributeName)); {
	case n == 0:
		_, err = r.ops[kmip.OperationAddAttribute](ctx, b, &payloads.AddAttributeRequestPayload{UniqueIdentifier: o.ID, Attribute: a})
	case n == 1:
		_, err = r.ops[kmip.OperationModifyAttribute](ctx, b, &payloads.ModifyAttributeRequestPayload{UniqueIdentifier: o.ID, Attribute: a})
	default:
		err = kerr(kmip2.ResultReasonMultiValuedAttribute, "the object has several instances of the attribute")
	}
	if err != nil {
		return nil, err
	}
	return &kmip2.SetAttributeResponsePayload{UniqueIdentifier: o.ID}, nil
}
