package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

func (r *Router) getAttributes(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.GetAttributesRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if b.version.ProtocolVersionMinor >= 1 && hasDuplicate(req.AttributeName) {
		// KMIP 1.1 section 4.11: an Attribute Name may appear once.
		return nil, kerr(kmip.ResultReasonInvalidMessage, "attribute name given more than once")
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &payloads.GetAttributesResponsePayload{
		UniqueIdentifier: o.ID,
		Attribute:        b.visibleAttrs(r.m.Attributes(o, req.AttributeName)),
	}, nil
}

func (r *Router) getAttributeList(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.GetAttributeListRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	resp := &payloads.GetAttributeListResponsePayload{UniqueIdentifier: o.ID}
	seen := map[kmip.AttributeName]bool{}
	for _, a := range b.visibleAttrs(r.m.AllAttributes(o)) {
		if !seen[a.AttributeName] {
			seen[a.AttributeName] = true
			resp.AttributeName = append(resp.AttributeName, a.AttributeName)
		}
	}
	return resp, nil
}

// checkVersion refuses an attribute the client's version does not define.
func (b *batch) checkVersion(name kmip.AttributeName) error {
	if !keys.KnownInVersion(name, int(b.version.ProtocolVersionMinor)) {
		return kerr(kmip.ResultReasonInvalidField, "attribute not defined in this protocol version")
	}
	return nil
}

func (r *Router) addAttribute(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.AddAttributeRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := b.checkVersion(req.Attribute.AttributeName); err != nil {
		return nil, err
	}
	a, err := r.m.AddAttribute(ctx, id, req.Attribute)
	if err != nil {
		return nil, err
	}
	return &payloads.AddAttributeResponsePayload{UniqueIdentifier: id, Attribute: a}, nil
}

func (r *Router) modifyAttribute(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.ModifyAttributeRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := b.checkVersion(req.Attribute.AttributeName); err != nil {
		return nil, err
	}
	a, err := r.m.ModifyAttribute(ctx, id, req.Attribute)
	if err != nil {
		return nil, err
	}
	if b.version.ProtocolVersionMinor >= 1 && a.AttributeIndex != nil && *a.AttributeIndex == 0 {
		// KMIP 1.1 made the index optional: the first instance goes without.
		a.AttributeIndex = nil
	}
	return &payloads.ModifyAttributeResponsePayload{UniqueIdentifier: id, Attribute: a}, nil
}

func (r *Router) deleteAttribute(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.DeleteAttributeRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	a, err := r.m.DeleteAttribute(ctx, id, req.AttributeName, req.AttributeIndex)
	if err != nil {
		return nil, err
	}
	return &payloads.DeleteAttributeResponsePayload{UniqueIdentifier: id, Attribute: a}, nil
}

// hasDuplicate reports whether a name appears twice.
func hasDuplicate(names []kmip.AttributeName) bool {
	seen := make(map[kmip.AttributeName]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return true
		}
		seen[n] = true
	}
	return false
}
