package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"
)

// ErrMultipleInstances: the attribute has several instances where the
// operation needs at most one (KMIP 2.x Adjust Attribute).
var ErrMultipleInstances = errors.New("keys: attribute has several instances")

// AdjustFunc computes the new value of an attribute from its current one
// (present is false when the object has none). o is the object as it is
// when the change is applied; it must not be modified.
type AdjustFunc func(o *Object, cur any, present bool) (next any, err error)

// AdjustAttribute replaces the single instance of a client-modifiable
// attribute by adjust's answer, or adds one when the object has none, in
// one atomic update: a concurrent change of the object makes the whole
// read-compute-write start again (Manager.update), so no adjustment is
// lost. A read-only attribute is refused (ErrAttributeReadOnly), one with
// several instances too (ErrMultipleInstances), and one that may change
// only while the object is Pre-Active, in another state (ErrWrongState).
// The one-way rules of Extractable and Sensitive apply.
func (m *Manager) AdjustAttribute(ctx context.Context, id string, name kmip.AttributeName, adjust AdjustFunc) (*Object, error) {
	return m.update(ctx, id, func(o *Object) error {
		if err := m.usable(o); err != nil {
			return err
		}
		r, ok := ruleFor(name)
		if !ok {
			return fmt.Errorf("%w: unknown attribute %q", ErrInvalidField, name)
		}
		if !r.modify {
			return fmt.Errorf("%w: %q cannot be changed by a client", ErrAttributeReadOnly, name)
		}
		if r.preActiveOnly && o.EffectiveState(m.now()) != kmip.StatePreActive {
			return fmt.Errorf("%w: %q can change only while the object is Pre-Active", ErrWrongState, name)
		}
		pos, n := -1, 0
		for i, a := range o.Attrs {
			if a.AttributeName == name {
				pos = i
				n++
			}
		}
		if n > 1 {
			return fmt.Errorf("%w: %q has %d", ErrMultipleInstances, name, n)
		}
		var cur any
		if pos >= 0 {
			cur = o.Attrs[pos].AttributeValue
		}
		next, err := adjust(o, cur, pos >= 0)
		if err != nil {
			return err
		}
		a := kmip.Attribute{AttributeName: name, AttributeValue: next}
		if err := checkAttrValue(a); err != nil {
			return err
		}
		if pos >= 0 {
			if err := checkOneWay(name, cur, next); err != nil {
				return err
			}
			o.Attrs[pos].AttributeValue = next
		} else {
			o.Attrs = append(o.Attrs, a)
		}
		m.afterChange(o, name)
		return nil
	})
}
