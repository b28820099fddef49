package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

func (r *Router) locate(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.LocateRequestPayload)
	q := keys.LocateQuery{Attributes: req.Attribute, MaxItems: int(req.MaximumItems), Offset: int(req.OffsetItems),
		GroupMember: req.ObjectGroupMember}
	if req.MaximumItems < 0 || req.OffsetItems < 0 {
		return nil, kerr(kmip.ResultReasonInvalidField, "maximum and offset items must not be negative")
	}
	if req.StorageStatusMask != 0 {
		online := req.StorageStatusMask&kmip.StorageStatusOnlineStorage != 0
		archived := req.StorageStatusMask&kmip.StorageStatusArchivalStorage != 0
		q.IncludeArchived = archived
		q.OnlyArchived = archived && !online
	}
	ids, total, err := r.m.Locate(ctx, q)
	if err != nil {
		return nil, err
	}
	if group, ok := r.freshGroupOf(req); ok && len(ids) == 0 {
		o, err := r.freshOnDemand(ctx, b, group)
		if err != nil {
			return nil, err
		}
		if o != nil {
			ids, total, b.obj = []string{o.ID}, 1, o
		}
	}
	resp := &payloads.LocateResponsePayload{UniqueIdentifier: ids}
	// Located Items is optional: it is sent when the client pages.
	if b.version.ProtocolVersionMinor >= 3 && (req.MaximumItems > 0 || req.OffsetItems > 0) {
		n := int32(total)
		resp.LocatedItems = &n
	}
	if len(ids) > 0 {
		b.placeholder = ids[0]
	}
	b.locatedNothing(len(ids) == 0)
	return resp, nil
}
