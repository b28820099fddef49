package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// reKeyKeyPair answers Re-key Key Pair (KMIP 1.1+): a fresh key pair
// replaces the one of the given private key. The placeholder becomes the
// new private key.
func (r *Router) reKeyKeyPair(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.RekeyKeyPairRequestPayload)
	id, err := b.id(req.PrivateKeyUniqueIdentifier)
	if err != nil {
		return nil, err
	}
	common, priv, pub, err := r.pairTemplates(ctx, req.CommonTemplateAttribute, req.PrivateKeyTemplateAttribute, req.PublicKeyTemplateAttribute)
	if err != nil {
		return nil, err
	}
	kp, err := r.m.ReKeyKeyPair(ctx, id, req.Offset, common, priv, pub)
	if err != nil {
		return nil, err
	}
	b.obj = kp.Private
	b.placeholder = kp.Private.ID
	return &payloads.RekeyKeyPairResponsePayload{
		PrivateKeyUniqueIdentifier: kp.Private.ID,
		PublicKeyUniqueIdentifier:  kp.Public.ID,
	}, nil
}
