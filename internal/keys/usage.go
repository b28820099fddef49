package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
)

// normalizeUsageLimits fills in Usage Limits Count from the total when a
// client gives only the total.
func normalizeUsageLimits(a kmip.Attribute) kmip.Attribute {
	if ul, ok := a.AttributeValue.(kmip.UsageLimits); ok && ul.UsageLimitsCount == nil {
		c := ul.UsageLimitsTotal
		ul.UsageLimitsCount = &c
		a.AttributeValue = ul
	}
	return a
}

// CheckRequest carries the optional parameters of Check.
type CheckRequest struct {
	UsageLimitsCount *int64
	UsageMask        kmip.CryptographicUsageMask
	LeaseTime        *time.Duration
}

// Check verifies that the object could be used as described, without
// changing it. It reports the first parameter that fails.
func (m *Manager) Check(ctx context.Context, id string, req CheckRequest) error {
	cur, err := m.loadVisible(ctx, id)
	if err != nil {
		return err
	}
	o := cur.obj
	if err := m.usable(o); err != nil {
		return err
	}
	if req.UsageMask != 0 {
		v, _ := o.Attr(kmip.AttributeNameCryptographicUsageMask)
		mask, _ := v.(kmip.CryptographicUsageMask)
		if mask&req.UsageMask != req.UsageMask {
			return fmt.Errorf("%w: usage mask not permitted", ErrPermissionDenied)
		}
	}
	if req.UsageLimitsCount != nil {
		if left, limited := usageLeft(o); limited && left < *req.UsageLimitsCount {
			return fmt.Errorf("%w: %d left", ErrUsageLimitExceeded, left)
		}
	}
	if req.LeaseTime != nil && *req.LeaseTime > m.leaseTime(o) {
		return fmt.Errorf("%w: lease longer than the object's Lease Time", ErrPermissionDenied)
	}
	return nil
}

// usageLeft returns the remaining usage count and whether the object has
// Usage Limits at all.
func usageLeft(o *Object) (int64, bool) {
	v, ok := o.Attr(kmip.AttributeNameUsageLimits)
	if !ok {
		return 0, false
	}
	ul := v.(kmip.UsageLimits)
	if ul.UsageLimitsCount != nil {
		return *ul.UsageLimitsCount, true
	}
	return ul.UsageLimitsTotal, true
}

// GetUsageAllocation reserves count units of the object's Usage Limits.
// The object must be usable for protection (Active, before its Protect Stop
// Date).
func (m *Manager) GetUsageAllocation(ctx context.Context, id string, count int64) error {
	if count <= 0 {
		return fmt.Errorf("%w: Usage Limits Count must be positive", ErrInvalidField)
	}
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.usable(o); err != nil {
			return err
		}
		now := m.now()
		if o.EffectiveState(now) != kmip.StateActive {
			return fmt.Errorf("%w: usage is allocated only for Active objects", ErrWrongState)
		}
		if t, ok := o.Date(kmip.AttributeNameProtectStopDate); ok && !t.After(now) {
			return fmt.Errorf("%w: past the Protect Stop Date", ErrWrongState)
		}
		left, limited := usageLeft(o)
		if !limited {
			return fmt.Errorf("%w: the object has no Usage Limits", ErrPermissionDenied)
		}
		if left < count {
			return fmt.Errorf("%w: %d left", ErrUsageLimitExceeded, left)
		}
		ul := o.AttrAll(kmip.AttributeNameUsageLimits)[0].(kmip.UsageLimits)
		left -= count
		ul.UsageLimitsCount = &left
		o.setAttr(kmip.AttributeNameUsageLimits, ul)
		o.UsageUsed += count
		return nil
	})
	return err
}

// ObtainLease grants a lease on an Active object: it returns the lease
// length and the object's Last Change Date.
func (m *Manager) ObtainLease(ctx context.Context, id string) (time.Duration, time.Time, error) {
	cur, err := m.loadVisible(ctx, id)
	if err != nil {
		return 0, time.Time{}, err
	}
	o := cur.obj
	if err := m.usable(o); err != nil {
		return 0, time.Time{}, err
	}
	if o.EffectiveState(m.now()) != kmip.StateActive {
		return 0, time.Time{}, fmt.Errorf("%w: leases are granted on Active objects", ErrWrongState)
	}
	last, _ := o.Date(kmip.AttributeNameLastChangeDate)
	return m.leaseTime(o), last, nil
}
