package kmip

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// KMIP 2.x names failures the 1.x Result Reasons fold into Permission
// Denied (Wrong Key Lifecycle State, Incompatible Cryptographic Usage
// Mask) and requires that a Name be unique (Non-Unique Name Attribute).
// These checks run before the shared handler, for 2.x clients only, so the
// 1.x answers do not change.

// v2Checks wraps the handlers whose 2.x answers need a check first.
func (r *Router) v2Checks() {
	wrap := func(op kmip.Operation, pre func(ctx context.Context, b *batch, p kmip.OperationPayload) error) {
		f, ok := r.ops[op]
		if !ok {
			return
		}
		r.ops[op] = func(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
			if b.v2 != nil {
				if err := pre(ctx, b, p); err != nil {
					return nil, err
				}
			}
			return f(ctx, b, p)
		}
	}
	wrap(kmip.OperationCheck, r.checkUsageMask2)
	wrap(kmip.OperationAddAttribute, func(ctx context.Context, b *batch, p kmip.OperationPayload) error {
		req, ok := p.(*payloads.AddAttributeRequestPayload)
		if !ok {
			return nil
		}
		return r.attrChange2(ctx, b, req.UniqueIdentifier, req.Attribute, true)
	})
	wrap(kmip.OperationModifyAttribute, func(ctx context.Context, b *batch, p kmip.OperationPayload) error {
		req, ok := p.(*payloads.ModifyAttributeRequestPayload)
		if !ok {
			return nil
		}
		idx, err := r.currentIndex(ctx, b, req.UniqueIdentifier)
		if err != nil {
			return err
		}
		if idx != nil {
			req.Attribute.AttributeIndex = idx
		}
		return r.attrChange2(ctx, b, req.UniqueIdentifier, req.Attribute, false)
	})
	wrap(kmip.OperationDeleteAttribute, func(ctx context.Context, b *batch, p kmip.OperationPayload) error {
		req, ok := p.(*payloads.DeleteAttributeRequestPayload)
		if !ok {
			return nil
		}
		idx, err := r.currentIndex(ctx, b, req.UniqueIdentifier)
		if err != nil {
			return err
		}
		if idx != nil {
			req.AttributeIndex = idx
		}
		return nil
	})
}

// currentIndex resolves the 2.x Current Attribute of the item being run,
// if it has one, to the 1.x Attribute Index of the instance with that
// value: values compare by their TTLV encoding.
func (r *Router) currentIndex(ctx context.Context, b *batch, given string) (*int32, error) {
	name, value, ok := b.v2.current()
	if !ok {
		return nil, nil
	}
	id, err := b.id(given)
	if err != nil {
		return nil, err
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	want := ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagAttributeValue, Value: value.Value})
	for i, v := range o.AttrAll(name) {
		enc := ttlv.NewTTLVEncoder()
		enc.TagAny(kmip.TagAttributeValue, v)
		if bytes.Equal(enc.Bytes(), want) {
			idx := int32(i)
			return &idx, nil
		}
	}
	return nil, kerr(kmip2.ResultReasonAttributeInstanceNotFound, "no instance of the attribute has the current value")
}

// checkUsageMask2 answers Incompatible Cryptographic Usage Mask when the
// object's mask lacks a bit the Check asks for.
func (r *Router) checkUsageMask2(ctx context.Context, b *batch, p kmip.OperationPayload) error {
	req, ok := p.(*CheckRequestPayload)
	if !ok || req.CryptographicUsageMask == 0 {
		return nil
	}
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return err
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return err
	}
	v, _ := o.Attr(kmip.AttributeNameCryptographicUsageMask)
	mask, _ := v.(kmip.CryptographicUsageMask)
	if mask&req.CryptographicUsageMask != req.CryptographicUsageMask {
		return kerr(kmip2.ResultReasonIncompatibleCryptographicUsageMask, "incompatible cryptographic usage mask")
	}
	return nil
}

// attrChange2 refuses, before Add or Modify Attribute, a change of the
// Activation Date outside Pre-Active (Wrong Key Lifecycle State) and a Name
// another object already has, or, when adding, the object itself has
// (Non-Unique Name Attribute).
func (r *Router) attrChange2(ctx context.Context, b *batch, given string, a kmip.Attribute, adding bool) error {
	id, err := b.id(given)
	if err != nil {
		return err
	}
	switch a.AttributeName {
	case kmip.AttributeNameActivationDate:
		o, err := r.m.Get(ctx, id)
		if err != nil {
			return err
		}
		if o.State != kmip.StatePreActive {
			return kerr(kmip2.ResultReasonWrongKeyLifecycleState, "activation date can change only while the object is pre-active")
		}
	case kmip.AttributeNameName:
		ids, _, err := r.m.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: a.AttributeValue}}})
		if err != nil {
			return fmt.Errorf("kmip: name uniqueness: %w", err)
		}
		for _, other := range ids {
			if adding || other != id {
				return kerr(kmip2.ResultReasonNonUniqueNameAttribute, "another object has this name")
			}
		}
	}
	return nil
}
