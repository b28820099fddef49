package keys

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Origin says how an object came to the server.
type Origin uint8

// Origins.
const (
	// OriginCreated: the server generated the key material.
	OriginCreated Origin = iota + 1
	// OriginRegistered: a client supplied the object.
	OriginRegistered
)

// DefaultGroup is the group of objects whose creator names none.
const DefaultGroup = "default"

// Object is a managed object with its attributes.
//
// Attrs holds every stored attribute except the three the server derives
// on read (Unique Identifier, Object Type, State). Value holds the key
// material or data (nil once destroyed).
type Object struct {
	ID       string
	Type     kmip.ObjectType
	Group    string
	Origin   Origin
	State    kmip.State
	Archived bool
	// UsageUsed counts allocations against the Usage Limits attribute.
	UsageUsed int64
	Attrs     []kmip.Attribute
	Value     kmip.Object
	// Registered is the key object exactly as a client registered it
	// wrapped (Key Wrapping Data), for Get with Key Wrap Type As
	// Registered; nil for every other object. See wrapped.go.
	Registered kmip.Object

	// Owner is the credential identity that created the object, if any
	// (owner.go).
	Owner string
}

// record is the stored envelope of an Object, sealed by the barrier.
type record struct {
	V         int    `json:"v"`
	ID        string `json:"id"`
	Type      uint32 `json:"type"`
	Group     string `json:"group"`
	Owner     string `json:"owner,omitempty"`
	Origin    uint8  `json:"origin"`
	State     uint32 `json:"state"`
	Archived  bool   `json:"archived,omitempty"`
	UsageUsed int64  `json:"usage,omitempty"`
	Attrs     []byte `json:"attrs"`
	Value     []byte `json:"value,omitempty"`
	// Registered is absent from records written before it existed.
	Registered []byte `json:"registered,omitempty"`
}

const recordVersion = 1

func encodeObject(o *Object) ([]byte, error) {
	r := record{
		V: recordVersion, ID: o.ID, Type: uint32(o.Type), Group: o.Group, Owner: o.Owner, Origin: uint8(o.Origin),
		State: uint32(o.State), Archived: o.Archived, UsageUsed: o.UsageUsed,
	}
	for _, a := range o.Attrs {
		a.AttributeIndex = nil
		r.Attrs = append(r.Attrs, ttlv.MarshalTTLV(&a)...)
	}
	if o.Value != nil {
		r.Value = ttlv.MarshalTTLV(o.Value)
	}
	if o.Registered != nil {
		r.Registered = ttlv.MarshalTTLV(o.Registered)
	}
	return json.Marshal(&r)
}

func decodeObject(b []byte) (*Object, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if r.V != recordVersion {
		return nil, fmt.Errorf("decode record: unknown record version %d", r.V)
	}
	o := &Object{
		ID: r.ID, Type: kmip.ObjectType(r.Type), Group: r.Group, Owner: r.Owner, Origin: Origin(r.Origin),
		State: kmip.State(r.State), Archived: r.Archived, UsageUsed: r.UsageUsed,
	}
	if len(r.Attrs) > 0 {
		dec, err := ttlv.NewTTLVDecoder(r.Attrs)
		if err != nil {
			return nil, fmt.Errorf("decode attributes: %w", err)
		}
		for dec.Tag() != 0 {
			var a kmip.Attribute
			if err := dec.Any(&a); err != nil {
				return nil, fmt.Errorf("decode attributes: %w", err)
			}
			o.Attrs = append(o.Attrs, a)
		}
	}
	if len(r.Value) > 0 {
		v, err := kmip.NewObjectForType(o.Type)
		if err != nil {
			return nil, fmt.Errorf("decode value: %w", err)
		}
		if err := ttlv.UnmarshalTTLV(r.Value, v); err != nil {
			return nil, fmt.Errorf("decode value: %w", err)
		}
		o.Value = v
	}
	if len(r.Registered) > 0 {
		v, err := kmip.NewObjectForType(o.Type)
		if err != nil {
			return nil, fmt.Errorf("decode registered value: %w", err)
		}
		if err := ttlv.UnmarshalTTLV(r.Registered, v); err != nil {
			return nil, fmt.Errorf("decode registered value: %w", err)
		}
		o.Registered = v
	}
	return o, nil
}

// Clone returns a deep enough copy for modification: the attribute slice is
// copied; values are immutable once stored.
func (o *Object) Clone() *Object {
	c := *o
	c.Attrs = append([]kmip.Attribute(nil), o.Attrs...)
	return &c
}

// Attr returns the first instance of the named attribute.
func (o *Object) Attr(name kmip.AttributeName) (any, bool) {
	for _, a := range o.Attrs {
		if a.AttributeName == name {
			return a.AttributeValue, true
		}
	}
	return nil, false
}

// AttrAll returns every instance of the named attribute, in index order.
func (o *Object) AttrAll(name kmip.AttributeName) []any {
	var out []any
	for _, a := range o.Attrs {
		if a.AttributeName == name {
			out = append(out, a.AttributeValue)
		}
	}
	return out
}

// Date returns a date attribute, if set.
func (o *Object) Date(name kmip.AttributeName) (time.Time, bool) {
	v, ok := o.Attr(name)
	if !ok {
		return time.Time{}, false
	}
	t, ok := v.(time.Time)
	return t, ok
}

// setAttr replaces every instance of name by one instance holding v.
func (o *Object) setAttr(name kmip.AttributeName, v any) {
	for i, a := range o.Attrs {
		if a.AttributeName == name {
			o.Attrs[i].AttributeValue = v
			o.removeAttrFrom(name, i+1)
			return
		}
	}
	o.Attrs = append(o.Attrs, kmip.Attribute{AttributeName: name, AttributeValue: v})
}

// removeAttrFrom deletes the instances of name found at positions >= from.
func (o *Object) removeAttrFrom(name kmip.AttributeName, from int) {
	out := o.Attrs[:from]
	for _, a := range o.Attrs[from:] {
		if a.AttributeName != name {
			out = append(out, a)
		}
	}
	o.Attrs = out
}

// removeAttr deletes every instance of name.
func (o *Object) removeAttr(name kmip.AttributeName) { o.removeAttrFrom(name, 0) }

// EffectiveState is the state at time now: a Pre-Active object whose
// Activation Date has passed is Active, an Active one whose Deactivation
// Date has passed is Deactivated (KMIP 1.4 section 3.22).
func (o *Object) EffectiveState(now time.Time) kmip.State {
	s := o.State
	if s == kmip.StatePreActive {
		if t, ok := o.Date(kmip.AttributeNameActivationDate); ok && !t.After(now) {
			s = kmip.StateActive
		}
	}
	if s == kmip.StateActive {
		if t, ok := o.Date(kmip.AttributeNameDeactivationDate); ok && !t.After(now) {
			s = kmip.StateDeactivated
		}
	}
	return s
}
