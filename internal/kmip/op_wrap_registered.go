package kmip

import (
	"context"
	"errors"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// Wrapped keys on Register and Get (KMIP 1.4 §4.3 Register: "the object
// and attributes MAY be wrapped"; §4.11 Get, Key Wrap Type: Not Wrapped or
// As Registered). A key registered wrapped is kept as registered
// (keys.RegisterWrapped). When its wrapping key is one the server holds and
// the caller may use to unwrap (visible to the caller, Active, Unwrap Key
// in its usage mask), the server unwraps it too and the key is usable like
// any other. When it is not (a wrapping key the server does not hold or
// the caller may not see, or one without Unwrap Key — vector TC-WRAP-1-14
// registers under a Wrap Key-only key), the key is stored wrapped only:
// the server holds no usable material for it, Get answers the key block as
// registered, and Get with Not Wrapped tries the unwrapping again for its
// caller. A wrapped block that fails its integrity check under a usable
// wrapping key, or that does not decode, is refused.

// kekError marks a failure to obtain a wrapping key usable for unwrapping:
// the server cannot unwrap, but the registered block may be kept wrapped.
type kekError struct{ err error }

func (e kekError) Error() string { return e.err.Error() }
func (e kekError) Unwrap() error { return e.err }

// unusableKEK marks err as the failure to obtain the unwrapping key. A
// request that names no wrapping key at all stays a plain error.
func unusableKEK(err error) error {
	if errors.Is(err, errWrapKeyInfo) {
		return err
	}
	return kekError{err}
}

// registerMaybeWrapped registers v, keeping a wrapped key block as
// registered (and unwrapped when the caller's wrapping key allows).
func (r *Router) registerMaybeWrapped(ctx context.Context, b *batch, typ kmip.ObjectType, v kmip.Object, attrs []kmip.Attribute) (*keys.Object, error) {
	kb := keys.KeyBlockOf(v)
	if kb == nil || kb.KeyWrappingData == nil {
		return r.m.Register(ctx, typ, v, attrs)
	}
	plain, err := r.unwrapRegistered(ctx, b, v)
	var kekErr kekError
	switch {
	case errors.As(err, &kekErr):
		r.log.Debug("kmip: wrapped key kept as registered: the server cannot unwrap it for this caller", "conn", b.peer.ConnID, "reason", kekErr.Error())
		plain = nil
	case err != nil:
		return nil, err
	}
	return r.m.RegisterWrapped(ctx, typ, plain, v, attrs)
}

// servedValue picks the form of o's key that a Get returns, and reports
// whether it is the key block as registered (wrapped): As Registered asks
// for it; without a Key Wrap Type a key the server holds only wrapped is
// served so; Not Wrapped (or a Key Wrapping Specification, which needs the
// plain key) on such a key unwraps it for the caller, or fails as the
// unwrapping does.
func (r *Router) servedValue(ctx context.Context, b *batch, o *keys.Object, wrapType kmip.KeyWrapType, rewrap bool) (kmip.Object, bool, error) {
	switch {
	case o.Registered == nil:
		// Registered unwrapped, or generated: as registered is as stored.
		return o.Value, false, nil
	case wrapType == kmip.AsRegistered:
		return o.Registered, true, nil
	case o.HoldsKeyValue():
		return o.Value, false, nil
	case wrapType == kmip.NotWrapped || rewrap:
		plain, err := r.unwrapRegistered(ctx, b, o.Registered)
		if err != nil {
			return nil, false, err
		}
		return plain, false, nil
	}
	return o.Registered, true, nil
}

// asRegistered checks a Get of the key block as registered: it is returned
// as it is, so it cannot be converted to another format nor wrapped again.
func asRegistered(v kmip.Object, format kmip.KeyFormatType, spec *kmip.KeyWrappingSpecification) (kmip.Object, error) {
	if spec != nil {
		return nil, errWrapType
	}
	if kb := keys.KeyBlockOf(v); kb != nil && format != 0 && format != kb.KeyFormatType {
		return nil, errFormatNotSupported
	}
	return v, nil
}
