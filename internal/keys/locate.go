package keys

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// LocateQuery selects objects. Every attribute must match (an object
// matches an attribute when one of its instances equals it; two instances
// of a date attribute give a range; a usage mask matches when the object
// has all its bits). Archived objects are left out unless IncludeArchived,
// destroyed ones unless the query names a State.
type LocateQuery struct {
	Attributes      []kmip.Attribute
	MaxItems        int
	Offset          int
	IncludeArchived bool
	OnlyArchived    bool
	// GroupMember is the Object Group Member field (0: none); see
	// group_member.go.
	GroupMember kmip.ObjectGroupMember
}

// Locate returns the ids of matching objects in creation order, after
// Offset, at most MaxItems (0: no limit), and the total count of matches.
// Criteria are compared in canonical form (canonical.go): a custom
// attribute given as a Go string finds the objects that hold that text.
func (m *Manager) Locate(ctx context.Context, q LocateQuery) (ids []string, total int, err error) {
	access := accessOf(ctx)
	q.Attributes = canonicalQuery(q.Attributes)
	for _, a := range q.Attributes {
		if _, ok := ruleFor(a.AttributeName); !ok {
			return nil, 0, fmt.Errorf("%w: unknown attribute %q", ErrInvalidField, a.AttributeName)
		}
	}
	if err := checkGroupMember(q); err != nil {
		return nil, 0, err
	}
	now := m.now()
	wantsState := false
	for _, a := range q.Attributes {
		wantsState = wantsState || a.AttributeName == kmip.AttributeNameState
	}
	match := func(o *Object) bool {
		if !access.sees(o) || access.mayUse(o) != nil {
			return false
		}
		// Destroyed objects keep their metadata but are found only when the
		// query asks for a state.
		if !wantsState && (o.State == kmip.StateDestroyed || o.State == kmip.StateDestroyedCompromised) {
			return false
		}
		if o.Archived && !q.IncludeArchived && !q.OnlyArchived {
			return false
		}
		if q.OnlyArchived && !o.Archived {
			return false
		}
		return matches(o, q.Attributes, now)
	}
	match = groupMemberMatch(q.GroupMember, match)
	var picker *defaultPicker
	if q.GroupMember == kmip.ObjectGroupMemberDefault {
		picker = &defaultPicker{}
	}
	collect := func(id string, o *Object) {
		if picker != nil {
			picker.add(o)
			return
		}
		total++
		if total > q.Offset && (q.MaxItems <= 0 || len(ids) < q.MaxItems) {
			ids = append(ids, id)
		}
	}
	prefix := m.bestIndex(q.Attributes)
	err = m.st.View(func(r store.Reader) error {
		if prefix == nil {
			return r.Scan(bucketObjects, nil, nil, func(k, v []byte) (bool, error) {
				o, err := m.open(string(k), v)
				if err != nil {
					return false, err
				}
				if match(o) {
					collect(o.ID, o)
				}
				return true, nil
			})
		}
		return r.Scan(bucketIndex, prefix, nil, func(k, _ []byte) (bool, error) {
			id := k[len(prefix):]
			v, err := r.Get(bucketObjects, id)
			if err != nil {
				return false, fmt.Errorf("keys: index names missing object: %w", err)
			}
			o, err := m.open(string(id), v)
			if err != nil {
				return false, err
			}
			if match(o) {
				collect(o.ID, o)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	if picker != nil {
		ids, total = picker.result()
	}
	return ids, total, nil
}

// bestIndex picks the index prefix of the most selective indexed attribute
// in the query, or nil when a scan is needed.
func (m *Manager) bestIndex(attrs []kmip.Attribute) []byte {
	for _, name := range indexable {
		for _, a := range attrs {
			if a.AttributeName == name {
				return m.indexPrefix(a)
			}
		}
	}
	for _, a := range attrs {
		if a.AttributeName.IsCustom() {
			if p := m.indexPrefix(a); p != nil {
				return p
			}
		}
	}
	for _, a := range attrs {
		if a.AttributeName == kmip.AttributeNameObjectType {
			return m.indexPrefix(a)
		}
	}
	return nil
}

// matches applies every criterion to o.
func matches(o *Object, attrs []kmip.Attribute, now time.Time) bool {
	dates := map[kmip.AttributeName][]time.Time{}
	for _, a := range attrs {
		if t, ok := a.AttributeValue.(time.Time); ok {
			dates[a.AttributeName] = append(dates[a.AttributeName], t)
			continue
		}
		if !matchOne(o, a, now) {
			return false
		}
	}
	for name, ts := range dates {
		got, ok := o.Date(name)
		if !ok {
			return false
		}
		lo, hi := ts[0], ts[0]
		if len(ts) > 1 {
			lo, hi = ts[0], ts[1]
			if hi.Before(lo) {
				lo, hi = hi, lo
			}
		}
		if got.Before(lo) || got.After(hi) {
			return false
		}
	}
	return true
}

func matchOne(o *Object, a kmip.Attribute, now time.Time) bool {
	switch a.AttributeName {
	case kmip.AttributeNameObjectType:
		return a.AttributeValue == o.Type
	case kmip.AttributeNameState:
		return a.AttributeValue == o.EffectiveState(now)
	case kmip.AttributeNameUniqueIdentifier:
		return a.AttributeValue == o.ID
	case kmip.AttributeNameCryptographicUsageMask:
		want, _ := a.AttributeValue.(kmip.CryptographicUsageMask)
		got, _ := o.Attr(kmip.AttributeNameCryptographicUsageMask)
		g, _ := got.(kmip.CryptographicUsageMask)
		return g&want == want
	}
	for _, v := range o.AttrAll(a.AttributeName) {
		if valueMatches(a.AttributeValue, v) {
			return true
		}
	}
	return false
}

// valueMatches compares a query value with a stored one; empty fields of a
// query structure match anything.
func valueMatches(q, v any) bool {
	switch qv := q.(type) {
	case kmip.Name:
		n, ok := v.(kmip.Name)
		return ok && n.NameValue == qv.NameValue && (qv.NameType == 0 || qv.NameType == n.NameType)
	case kmip.Link:
		l, ok := v.(kmip.Link)
		return ok && (qv.LinkType == 0 || qv.LinkType == l.LinkType) &&
			(qv.LinkedObjectIdentifier == "" || qv.LinkedObjectIdentifier == l.LinkedObjectIdentifier)
	case ttlv.Value:
		vv, ok := v.(ttlv.Value)
		return ok && bytes.Equal(ttlv.MarshalTTLV(&qv), ttlv.MarshalTTLV(&vv))
	}
	return reflect.DeepEqual(q, v)
}
