package keys

import (
	"context"
	"fmt"

	"github.com/ovh/kmip-go"
)

// A client may register a key wrapped (its Key Block carries Key Wrapping
// Data: KMIP 1.x §2.1.5, Register "the object and attributes MAY be
// wrapped"), and a KMIP 1.4 client may later Get it with Key Wrap Type As
// Registered. The server keeps the object as registered (Object.Registered,
// sealed by the barrier like everything else) and, beside it:
//   - the unwrapped key as Value, when the front end could unwrap it with a
//     wrapping key the server holds and the caller may use for unwrapping;
//     the key is then usable like any other;
//   - otherwise a Value with the key block's description but no Key Value:
//     the server holds no usable material, so every operation that needs
//     the key finds none, exactly as for a metadata-only object, and the
//     wrapped bytes are never taken for plain key material.

// RegisterWrapped stores a key a client registered wrapped. registered is
// the object as the client sent it; plain is its unwrapped form, or nil
// when the server could not unwrap it.
func (m *Manager) RegisterWrapped(ctx context.Context, typ kmip.ObjectType, plain, registered kmip.Object, attrs []kmip.Attribute) (*Object, error) {
	if registered == nil || registered.ObjectType() != typ {
		return nil, fmt.Errorf("%w: the object does not match the Object Type", ErrInvalidField)
	}
	kb := KeyBlockOf(registered)
	if kb == nil || kb.KeyWrappingData == nil || kb.KeyValue == nil {
		return nil, fmt.Errorf("%w: the registered key block is not wrapped", ErrInvalidField)
	}
	if plain != nil && (plain.ObjectType() != typ || !holdsKeyValue(plain)) {
		return nil, fmt.Errorf("%w: the unwrapped object does not match", ErrInvalidField)
	}
	if err := checkRegisterAttrs(attrs); err != nil {
		return nil, err
	}
	value := plain
	if value == nil {
		value = withoutKeyValue(registered)
	}
	o, err := m.newObject(typ, OriginRegistered, attrs, value)
	if err != nil {
		return nil, err
	}
	if plain == nil {
		// The Key Value is present, wrapped: Key Value Present (KMIP 1.2
		// §3.42) is for objects registered without one.
		o.removeAttr(kmip.AttributeNameKeyValuePresent)
	}
	o.Registered = registered
	if err := m.insert(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// HoldsKeyValue reports whether the server holds o's key material in a
// usable (unwrapped) form.
func (o *Object) HoldsKeyValue() bool {
	return o.Value != nil && holdsKeyValue(o.Value)
}

// holdsKeyValue reports whether v is a key object with an unwrapped Key
// Value.
func holdsKeyValue(v kmip.Object) bool {
	kb := KeyBlockOf(v)
	return kb != nil && kb.KeyValue != nil && kb.KeyWrappingData == nil
}

// withoutKeyValue returns a copy of key object v whose key block keeps its
// description (format, algorithm, length) but neither the Key Value nor
// the Key Wrapping Data.
func withoutKeyValue(v kmip.Object) kmip.Object {
	kb := KeyBlockOf(v)
	if kb == nil {
		return v
	}
	stripped := *kb
	stripped.KeyValue = nil
	stripped.KeyWrappingData = nil
	return WithKeyBlock(v, stripped)
}
