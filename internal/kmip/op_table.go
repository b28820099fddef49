package kmip

import (
	"context"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// operations is the table of supported KMIP operations. Anything absent
// answers Operation Not Supported.
func (r *Router) operations() map[kmip.Operation]opFunc {
	return map[kmip.Operation]opFunc{
		kmip.OperationDiscoverVersions:   r.discoverVersions,
		kmip.OperationQuery:              r.query,
		kmip.OperationCreate:             r.create,
		kmip.OperationCreateKeyPair:      r.createKeyPair,
		kmip.OperationRegister:           r.register,
		kmip.OperationReKey:              r.reKey,
		kmip.OperationReKeyKeyPair:       r.reKeyKeyPair,
		kmip.OperationCertify:            r.certify,
		kmip.OperationReCertify:          r.reCertify,
		kmip.OperationGet:                r.get,
		kmip.OperationGetAttributes:      r.getAttributes,
		kmip.OperationGetAttributeList:   r.getAttributeList,
		kmip.OperationAddAttribute:       r.addAttribute,
		kmip.OperationModifyAttribute:    r.modifyAttribute,
		kmip.OperationDeleteAttribute:    r.deleteAttribute,
		kmip.OperationLocate:             r.locate,
		kmip.OperationActivate:           r.activate,
		kmip.OperationRevoke:             r.revoke,
		kmip.OperationDestroy:            r.destroy,
		kmip.OperationCheck:              r.check,
		kmip.OperationGetUsageAllocation: r.getUsageAllocation,
		kmip.OperationObtainLease:        r.obtainLease,
		kmip.OperationArchive:            r.archive,
		kmip.OperationRecover:            r.recover,
		kmip.OperationEncrypt:            r.encrypt,
		kmip.OperationDecrypt:            r.decrypt,
		kmip.OperationSign:               r.sign,
		kmip.OperationSignatureVerify:    r.signatureVerify,
		kmip.OperationMAC:                r.mac,
		kmip.OperationMACVerify:          r.macVerify,
		kmip.OperationRNGRetrieve:        r.rngRetrieve,
		kmip.OperationRNGSeed:            r.rngSeed,
		kmip.OperationPoll:               r.poll,
		kmip.OperationCancel:             r.cancel,
		kmip.OperationHash:               r.hash,
		kmip.OperationDeriveKey:          r.deriveKey,
		kmip.OperationCreateSplitKey:     r.createSplitKey,
		kmip.OperationJoinSplitKey:       r.joinSplitKey,
	}
}

// templateAttrs returns the attributes of a template attribute structure,
// resolving named templates (KMIP 1.0–1.2).
func (r *Router) templateAttrs(ctx context.Context, t *kmip.TemplateAttribute) ([]kmip.Attribute, error) {
	if t == nil {
		return nil, nil
	}
	explicit := make([]kmip.Attribute, 0, len(t.Attribute))
	for _, a := range t.Attribute {
		a.AttributeIndex = nil
		explicit = append(explicit, a)
	}
	if len(t.Name) == 0 {
		return explicit, nil
	}
	return r.m.TemplateAttributes(ctx, t.Name, explicit)
}

// pairTemplates resolves the three templates of Create Key Pair and Re-key
// Key Pair: common, private key and public key.
func (r *Router) pairTemplates(ctx context.Context, common, priv, pub *kmip.TemplateAttribute) (c, pr, pu []kmip.Attribute, err error) {
	if c, err = r.templateAttrs(ctx, common); err != nil {
		return nil, nil, nil, err
	}
	if pr, err = r.templateAttrs(ctx, priv); err != nil {
		return nil, nil, nil, err
	}
	if pu, err = r.templateAttrs(ctx, pub); err != nil {
		return nil, nil, nil, err
	}
	return c, pr, pu, nil
}

// visibleAttrs drops attributes the client's protocol version does not know.
func (b *batch) visibleAttrs(attrs []kmip.Attribute) []kmip.Attribute {
	out := attrs[:0:0]
	for _, a := range attrs {
		if keys.KnownInVersion(a.AttributeName, int(b.version.ProtocolVersionMinor)) {
			out = append(out, a)
		}
	}
	return out
}
