package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
)

// AllAttributes returns every attribute of o as a client sees it: the
// derived ones (Unique Identifier, Object Type, State) first, then the
// stored ones, each multi-instance attribute numbered by AttributeIndex.
func (m *Manager) AllAttributes(o *Object) []kmip.Attribute {
	now := m.now()
	out := []kmip.Attribute{
		{AttributeName: kmip.AttributeNameUniqueIdentifier, AttributeValue: o.ID},
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: o.Type},
		{AttributeName: kmip.AttributeNameState, AttributeValue: o.EffectiveState(now)},
	}
	count := map[kmip.AttributeName]int32{}
	for _, a := range o.Attrs {
		i := count[a.AttributeName]
		count[a.AttributeName] = i + 1
		if i > 0 {
			a.AttributeIndex = &i
		}
		out = append(out, a)
	}
	return out
}

// Attributes returns the named attributes of o (every instance of each), or
// all of them when names is empty. Names the object lacks are skipped.
func (m *Manager) Attributes(o *Object, names []kmip.AttributeName) []kmip.Attribute {
	all := m.AllAttributes(o)
	if len(names) == 0 {
		return all
	}
	var out []kmip.Attribute
	for _, n := range names {
		for _, a := range all {
			if a.AttributeName == n {
				out = append(out, a)
			}
		}
	}
	return out
}

// AddAttribute adds an instance of a client-settable attribute and returns
// it with its index.
func (m *Manager) AddAttribute(ctx context.Context, id string, a kmip.Attribute) (kmip.Attribute, error) {
	var added kmip.Attribute
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.checkChange(o, a.AttributeName, false); err != nil {
			return err
		}
		if err := checkAttrValue(a); err != nil {
			return err
		}
		a = normalizeUsageLimits(a)
		r, _ := ruleFor(a.AttributeName)
		n := int32(len(o.AttrAll(a.AttributeName)))
		if n > 0 && !r.multi {
			return fmt.Errorf("%w: %q already set; use Modify Attribute", ErrAttributeSingleValued, a.AttributeName)
		}
		a.AttributeIndex = nil
		o.Attrs = append(o.Attrs, a)
		if n > 0 {
			a.AttributeIndex = &n
		}
		added = a
		m.afterChange(o, a.AttributeName)
		return nil
	})
	return added, err
}

// ModifyAttribute replaces instance AttributeIndex (default 0) of an
// existing attribute.
func (m *Manager) ModifyAttribute(ctx context.Context, id string, a kmip.Attribute) (kmip.Attribute, error) {
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.checkChange(o, a.AttributeName, false); err != nil {
			return err
		}
		if err := checkAttrValue(a); err != nil {
			return err
		}
		pos, err := instance(o, a.AttributeName, a.AttributeIndex)
		if err != nil {
			return err
		}
		if err := checkOneWay(a.AttributeName, o.Attrs[pos].AttributeValue, a.AttributeValue); err != nil {
			return err
		}
		o.Attrs[pos].AttributeValue = a.AttributeValue
		m.afterChange(o, a.AttributeName)
		return nil
	})
	return a, err
}

// DeleteAttribute removes instance index (default 0) of an attribute and
// returns it.
func (m *Manager) DeleteAttribute(ctx context.Context, id string, name kmip.AttributeName, index *int32) (kmip.Attribute, error) {
	var deleted kmip.Attribute
	_, err := m.update(ctx, id, func(o *Object) error {
		if err := m.checkChange(o, name, true); err != nil {
			return err
		}
		pos, err := instance(o, name, index)
		if err != nil {
			return err
		}
		deleted = o.Attrs[pos]
		deleted.AttributeIndex = index
		o.Attrs = append(o.Attrs[:pos], o.Attrs[pos+1:]...)
		m.afterChange(o, name)
		return nil
	})
	return deleted, err
}

// checkChange applies the attribute rules to a client change.
func (m *Manager) checkChange(o *Object, name kmip.AttributeName, remove bool) error {
	if err := m.usable(o); err != nil {
		return err
	}
	r, ok := ruleFor(name)
	if !ok {
		return fmt.Errorf("%w: unknown attribute %q", ErrInvalidField, name)
	}
	if (remove && !r.remove) || (!remove && !r.modify) {
		return fmt.Errorf("%w: %q cannot be changed by a client", ErrAttributeReadOnly, name)
	}
	if r.preActiveOnly && o.EffectiveState(m.now()) != kmip.StatePreActive {
		return fmt.Errorf("%w: %q can change only while the object is Pre-Active", ErrPermissionDenied, name)
	}
	return nil
}

// afterChange updates Last Change Date and the state when a date moved.
func (m *Manager) afterChange(o *Object, name kmip.AttributeName) {
	now := m.Now()
	m.touch(o, now)
	if name == kmip.AttributeNameActivationDate || name == kmip.AttributeNameDeactivationDate {
		if o.State == kmip.StatePreActive {
			if t, ok := o.Date(kmip.AttributeNameActivationDate); ok && !t.After(now) {
				o.State = kmip.StateActive
			}
		}
	}
}

// instance returns the position in o.Attrs of instance index of name.
func instance(o *Object, name kmip.AttributeName, index *int32) (int, error) {
	want := int32(0)
	if index != nil {
		want = *index
	}
	n := int32(0)
	for i, a := range o.Attrs {
		if a.AttributeName != name {
			continue
		}
		if n == want {
			return i, nil
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %q", ErrAttributeNotFound, name)
	}
	return 0, fmt.Errorf("%w: %q has %d instance(s)", ErrIndexOutOfBounds, name, n)
}

// MarkServed records that an object's material left the server: Fresh
// becomes false. It writes only the first time.
func (m *Manager) MarkServed(ctx context.Context, o *Object) error {
	if v, _ := o.Attr(kmip.AttributeNameFresh); v != true {
		return nil
	}
	_, err := m.update(ctx, o.ID, func(n *Object) error {
		n.setAttr(kmip.AttributeNameFresh, false)
		return nil
	})
	return err
}

// leaseTime returns the object's Lease Time attribute.
func (m *Manager) leaseTime(o *Object) time.Duration {
	if v, ok := o.Attr(kmip.AttributeNameLeaseTime); ok {
		if d, ok := v.(time.Duration); ok {
			return d
		}
	}
	return m.lease
}

// checkOneWay refuses the changes that would expose key material again:
// Extractable may go from True to False only, Sensitive from False to
// True only (once a key is not extractable, e.g. a key label's private
// key, no client can make it extractable).
func checkOneWay(name kmip.AttributeName, cur, next any) error {
	switch name {
	case kmip.AttributeNameExtractable:
		if cur == false && next != false {
			return fmt.Errorf("%w: Extractable cannot change from False to True", ErrPermissionDenied)
		}
	case kmip.AttributeNameSensitive:
		if cur == true && next != true {
			return fmt.Errorf("%w: Sensitive cannot change from True to False", ErrPermissionDenied)
		}
	}
	return nil
}
