package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

func (r *Router) create(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.CreateRequestPayload)
	attrs, err := r.templateAttrs(ctx, &req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	o, err := r.m.Create(ctx, req.ObjectType, attrs)
	if err != nil {
		return nil, err
	}
	r.recordUsage(ctx, b, kmip.OperationCreate, o)
	b.placeholder = o.ID
	return &payloads.CreateResponsePayload{ObjectType: o.Type, UniqueIdentifier: o.ID}, nil
}

func (r *Router) createKeyPair(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.CreateKeyPairRequestPayload)
	common, priv, pub, err := r.pairTemplates(ctx, req.CommonTemplateAttribute, req.PrivateKeyTemplateAttribute, req.PublicKeyTemplateAttribute)
	if err != nil {
		return nil, err
	}
	kp, err := r.m.CreateKeyPair(ctx, common, priv, pub)
	if err != nil {
		return nil, err
	}
	b.placeholder = kp.Private.ID
	return &payloads.CreateKeyPairResponsePayload{
		PrivateKeyUniqueIdentifier: kp.Private.ID,
		PublicKeyUniqueIdentifier:  kp.Public.ID,
	}, nil
}

func (r *Router) register(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.RegisterRequestPayload)
	attrs, err := r.templateAttrs(ctx, &req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	o, err := r.registerMaybeWrapped(ctx, b, req.ObjectType, req.Object, attrs)
	if err != nil {
		return nil, err
	}
	r.recordUsage(ctx, b, kmip.OperationRegister, o)
	b.placeholder = o.ID
	return &payloads.RegisterResponsePayload{UniqueIdentifier: o.ID}, nil
}

func (r *Router) reKey(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.RekeyRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	attrs, err := r.templateAttrs(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	o, err := r.m.ReKey(ctx, id, req.Offset, attrs)
	if err != nil {
		return nil, err
	}
	b.obj = o
	b.placeholder = o.ID
	return &payloads.RekeyResponsePayload{UniqueIdentifier: o.ID}, nil
}
