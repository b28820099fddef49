package kmip

import (
	"context"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

func (r *Router) activate(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	id, err := b.id(p.(*payloads.ActivateRequestPayload).UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.Activate(ctx, id); err != nil {
		return nil, err
	}
	return &payloads.ActivateResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) revoke(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.RevokeRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	var occurred time.Time
	if req.CompromiseOccurrenceDate != nil {
		occurred = *req.CompromiseOccurrenceDate
	}
	if err := r.m.Revoke(ctx, id, req.RevocationReason, occurred); err != nil {
		return nil, err
	}
	return &payloads.RevokeResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) destroy(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	id, err := b.id(p.(*payloads.DestroyRequestPayload).UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.Destroy(ctx, id); err != nil {
		return nil, err
	}
	return &payloads.DestroyResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) archive(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	id, err := b.id(p.(*payloads.ArchiveRequestPayload).UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.Archive(ctx, id); err != nil {
		return nil, err
	}
	return &payloads.ArchiveResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) recover(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	id, err := b.id(p.(*payloads.RecoverRequestPayload).UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.Recover(ctx, id); err != nil {
		return nil, err
	}
	return &payloads.RecoverResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) getUsageAllocation(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.GetUsageAllocationRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.GetUsageAllocation(ctx, id, req.UsageLimitsCount); err != nil {
		return nil, err
	}
	return &payloads.GetUsageAllocationResponsePayload{UniqueIdentifier: id}, nil
}

func (r *Router) obtainLease(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	id, err := b.id(p.(*payloads.ObtainLeaseRequestPayload).UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	lease, last, err := r.m.ObtainLease(ctx, id)
	if err != nil {
		return nil, err
	}
	return &payloads.ObtainLeaseResponsePayload{UniqueIdentifier: id, LeaseTime: lease, LastChangeDate: last}, nil
}

func init() {
	kmip.RegisterOperationPayload[CheckRequestPayload, CheckResponsePayload](kmip.OperationCheck)
}

// CheckRequestPayload is the request of Check, which ovh/kmip-go lacks.
type CheckRequestPayload struct {
	UniqueIdentifier       string `ttlv:",omitempty"`
	UsageLimitsCount       *int64
	CryptographicUsageMask kmip.CryptographicUsageMask `ttlv:",omitempty"`
	LeaseTime              *time.Duration
}

// Operation returns Check.
func (*CheckRequestPayload) Operation() kmip.Operation { return kmip.OperationCheck }

// CheckResponsePayload is the response of Check.
type CheckResponsePayload struct {
	UniqueIdentifier       string
	UsageLimitsCount       *int64
	CryptographicUsageMask kmip.CryptographicUsageMask `ttlv:",omitempty"`
	LeaseTime              *time.Duration
}

// Operation returns Check.
func (*CheckResponsePayload) Operation() kmip.Operation { return kmip.OperationCheck }

func (r *Router) check(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*CheckRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if err := r.m.Check(ctx, id, keys.CheckRequest{UsageLimitsCount: req.UsageLimitsCount, UsageMask: req.CryptographicUsageMask, LeaseTime: req.LeaseTime}); err != nil {
		return nil, err
	}
	return &CheckResponsePayload{UniqueIdentifier: id}, nil
}
