package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
)

// Activate moves a Pre-Active object to Active and sets its Activation Date.
func (m *Manager) Activate(ctx context.Context, id string) error {
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.usable(o); err != nil {
			return err
		}
		if o.EffectiveState(m.now()) != kmip.StatePreActive || !hasMaterial(o) {
			return fmt.Errorf("%w: only a Pre-Active object with key material can be activated", ErrWrongState)
		}
		now := m.Now()
		o.State = kmip.StateActive
		o.setAttr(kmip.AttributeNameActivationDate, now)
		m.touch(o, now)
		return nil
	})
	return err
}

// Revoke deactivates an object, or marks it compromised when the reason is
// a key or CA compromise (then occurred, when non-zero, is the Compromise
// Occurrence Date).
func (m *Manager) Revoke(ctx context.Context, id string, reason kmip.RevocationReason, occurred time.Time) error {
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.usable(o); err != nil {
			return err
		}
		now := m.Now()
		state := o.EffectiveState(now)
		switch reason.RevocationReasonCode {
		case kmip.RevocationReasonCodeKeyCompromise, kmip.RevocationReasonCodeCACompromise:
			switch state {
			case kmip.StateDestroyed:
				o.State = kmip.StateDestroyedCompromised
			case kmip.StatePreActive, kmip.StateActive, kmip.StateDeactivated:
				o.State = kmip.StateCompromised
			default:
				return fmt.Errorf("%w: object is already compromised", ErrWrongState)
			}
			if occurred.IsZero() {
				occurred = now
			}
			o.setAttr(kmip.AttributeNameCompromiseOccurrenceDate, occurred.UTC())
			o.setAttr(kmip.AttributeNameCompromiseDate, now)
		default:
			switch state {
			case kmip.StateActive, kmip.StatePreActive:
				o.State = kmip.StateDeactivated
				if _, ok := o.Date(kmip.AttributeNameDeactivationDate); !ok || state == kmip.StateActive {
					o.setAttr(kmip.AttributeNameDeactivationDate, now)
				}
			case kmip.StateDeactivated:
				o.State = kmip.StateDeactivated
			default:
				return fmt.Errorf("%w: object cannot be revoked in its state", ErrWrongState)
			}
		}
		o.setAttr(kmip.AttributeNameRevocationReason, reason)
		m.touch(o, now)
		return nil
	})
	return err
}

// Destroy removes the key material of an object that is not Active; its
// metadata stays, in state Destroyed (or Destroyed Compromised).
func (m *Manager) Destroy(ctx context.Context, id string) error {
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.usable(o); err != nil {
			return err
		}
		now := m.Now()
		switch o.EffectiveState(now) {
		case kmip.StatePreActive, kmip.StateDeactivated:
			o.State = kmip.StateDestroyed
		case kmip.StateCompromised:
			o.State = kmip.StateDestroyedCompromised
		case kmip.StateActive:
			return fmt.Errorf("%w: an Active object must be revoked before it is destroyed", ErrWrongState)
		default:
			return fmt.Errorf("%w: object is already destroyed", ErrWrongState)
		}
		o.Value = nil
		o.Registered = nil
		o.setAttr(kmip.AttributeNameDestroyDate, now)
		m.touch(o, now)
		return nil
	})
	return err
}

// Archive moves an object to archival storage: it no longer answers most
// operations until it is recovered.
func (m *Manager) Archive(ctx context.Context, id string) error {
	_, err := m.update(ctx, id, func(o *Object) error {
		if o.Archived {
			return ErrObjectArchived
		}
		now := m.Now()
		o.Archived = true
		o.setAttr(kmip.AttributeNameArchiveDate, now)
		m.touch(o, now)
		return nil
	})
	return err
}

// Recover brings an archived object back on line.
func (m *Manager) Recover(ctx context.Context, id string) error {
	_, err := m.update(ctx, id, func(o *Object) error {
		if o.Archived {
			now := m.Now()
			o.Archived = false
			o.removeAttr(kmip.AttributeNameArchiveDate)
			m.touch(o, now)
		}
		return nil
	})
	return err
}

// usable refuses operations on archived objects.
func (m *Manager) usable(o *Object) error {
	if o.Archived {
		return ErrObjectArchived
	}
	return nil
}

// touch records a change: Last Change Date, and the object is no longer
// fresh once it has been changed or served.
func (m *Manager) touch(o *Object, now time.Time) {
	o.setAttr(kmip.AttributeNameLastChangeDate, now)
}

func hasMaterial(o *Object) bool {
	return o.Value != nil
}
