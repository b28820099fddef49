package kmip

import (
	"context"
	"errors"
	"math"
	"math/big"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// Adjust Attribute (KMIP 2.x §6.1.3) changes the single instance of an
// attribute by an Adjustment Type (Increment, Decrement, Negate) and an
// Adjustment Value, in one atomic update of the object
// (keys.Manager.AdjustAttribute). The specification lets it adjust numeric
// types, intervals and Booleans; an absent one counts as 0 (false for a
// Boolean), any other absent attribute is an error. What keywarden lets a
// client adjust: the dates a client may modify (by an Interval), Sensitive
// and Extractable (Negate, within their one-way rules) and the client's
// custom attributes (x-, a 2.x vendor attribute of vendor "x") holding an
// Integer, Long Integer, Big Integer, Interval, Date-Time or Boolean.

// Failures of Adjust Attribute, with the reasons of its error table.
var (
	errAdjustReadOnly  = kerr(kmip2.ResultReasonReadOnlyAttribute, "attribute cannot be changed by a client")
	errAdjustMulti     = kerr(kmip2.ResultReasonMultiValuedAttribute, "the object has several instances of the attribute")
	errAdjustDataType  = kerr(kmip2.ResultReasonInvalidDataType, "the attribute's type cannot take this adjustment")
	errAdjustRange     = kerr(kmip2.ResultReasonNumericRange, "the adjusted value is out of the attribute's range")
	errAdjustNoValue   = kerr(kmip.ResultReasonItemNotFound, "the object has no value of this attribute to adjust")
	errAdjustNeedValue = kerr(kmip.ResultReasonInvalidField, "increment and decrement need an adjustment value")
	errAdjustNoArg     = kerr(kmip.ResultReasonInvalidField, "negate takes no adjustment value")
	errAdjustType      = kerr(kmip.ResultReasonInvalidField, "unknown adjustment type")
)

// adjustAttribute serves Adjust Attribute (KMIP 2.x only).
func (r *Router) adjustAttribute(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req, ok := p.(*kmip2.AdjustAttributeRequestPayload)
	if b.v2 == nil || !ok {
		return nil, errOperationNotSupp
	}
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	o, err := r.m.AdjustAttribute(ctx, id, req.AttributeName, func(_ *keys.Object, cur any, present bool) (any, error) {
		return adjusted(req.AttributeName, cur, present, req.AdjustmentType, req.AdjustmentValue)
	})
	switch {
	case errors.Is(err, keys.ErrAttributeReadOnly):
		return nil, errAdjustReadOnly
	case errors.Is(err, keys.ErrMultipleInstances):
		return nil, errAdjustMulti
	case err != nil:
		return nil, err
	}
	b.obj = o
	return &kmip2.AdjustAttributeResponsePayload{UniqueIdentifier: o.ID}, nil
}

// adjustable are the known attributes a client may adjust, by the value an
// absent one counts as (nil: none, an absent one is an error).
var adjustable = map[kmip.AttributeName]any{
	kmip.AttributeNameActivationDate:   nil,
	kmip.AttributeNameProcessStartDate: nil,
	kmip.AttributeNameProtectStopDate:  nil,
	kmip.AttributeNameDeactivationDate: nil,
	kmip.AttributeNameSensitive:        false,
	kmip.AttributeNameExtractable:      false,
}

// adjusted is the new value of attribute name. A custom attribute's value
// is a generic TTLV value (how ovh's codec decodes it); it stays one.
func adjusted(name kmip.AttributeName, cur any, present bool, t kmip2.AdjustmentType, arg *ttlv.Value) (any, error) {
	var by any
	if arg != nil {
		by = arg.Value
	}
	switch t {
	case kmip2.AdjustmentTypeIncrement, kmip2.AdjustmentTypeDecrement:
		if by == nil {
			return nil, errAdjustNeedValue
		}
	case kmip2.AdjustmentTypeNegate:
		if by != nil {
			return nil, errAdjustNoArg
		}
	default:
		return nil, errAdjustType
	}
	if !name.IsCustom() {
		zero, ok := adjustable[name]
		switch {
		case !ok:
			return nil, errAdjustDataType
		case !present && zero == nil:
			return nil, errAdjustNoValue
		case !present:
			cur = zero
		}
		return adjustValue(cur, t, by)
	}
	if present {
		v, ok := cur.(ttlv.Value)
		if !ok {
			return nil, errAdjustDataType
		}
		cur = v.Value
	} else {
		cur = zeroLike(by)
		if cur == nil {
			return nil, errAdjustDataType
		}
	}
	next, err := adjustValue(cur, t, by)
	if err != nil {
		return nil, err
	}
	return ttlv.Value{Tag: kmip.TagAttributeValue, Value: next}, nil
}

// zeroLike is the value an absent custom attribute counts as: 0 of the
// adjustment value's type, false for Negate, nil when there is none.
func zeroLike(by any) any {
	switch by.(type) {
	case nil:
		return false
	case int32:
		return int32(0)
	case int64:
		return int64(0)
	case *big.Int:
		return new(big.Int)
	case time.Duration:
		return time.Duration(0)
	}
	return nil
}

// adjustValue applies one adjustment to a value of the Go type ovh's codec
// gives each TTLV type. by is nil for Negate.
func adjustValue(cur any, t kmip2.AdjustmentType, by any) (any, error) {
	sign := int64(1)
	if t == kmip2.AdjustmentTypeDecrement {
		sign = -1
	}
	switch c := cur.(type) {
	case bool:
		if t != kmip2.AdjustmentTypeNegate {
			return nil, errAdjustDataType
		}
		return !c, nil
	case int32, int64, *big.Int:
		sum, err := adjustInteger(integer(c), t, sign, by)
		if err != nil {
			return nil, err
		}
		return fitInteger(sum, c)
	case time.Duration:
		d, ok := by.(time.Duration)
		if t == kmip2.AdjustmentTypeNegate || !ok {
			return nil, errAdjustDataType
		}
		secs := int64(c/time.Second) + sign*int64(d/time.Second)
		if secs < 0 || secs > math.MaxUint32 {
			return nil, errAdjustRange
		}
		return time.Duration(secs) * time.Second, nil
	case time.Time:
		d, ok := by.(time.Duration)
		if t == kmip2.AdjustmentTypeNegate || !ok {
			return nil, errAdjustDataType
		}
		next := c.Add(time.Duration(sign) * d)
		if next.Unix() < 0 {
			return nil, errAdjustRange
		}
		return next, nil
	}
	return nil, errAdjustDataType
}

// integer widens an Integer, Long Integer or Big Integer.
func integer(v any) *big.Int {
	switch n := v.(type) {
	case int32:
		return big.NewInt(int64(n))
	case int64:
		return big.NewInt(n)
	case *big.Int:
		if n != nil {
			return new(big.Int).Set(n)
		}
	}
	return nil
}

// adjustInteger adds or subtracts an integer adjustment value, or negates.
func adjustInteger(cur *big.Int, t kmip2.AdjustmentType, sign int64, by any) (*big.Int, error) {
	if cur == nil {
		return nil, errAdjustDataType
	}
	if t == kmip2.AdjustmentTypeNegate {
		return cur.Neg(cur), nil
	}
	d := integer(by)
	if d == nil {
		return nil, errAdjustDataType
	}
	return cur.Add(cur, d.Mul(d, big.NewInt(sign))), nil
}

// fitInteger returns n in the type of like, or Numeric Range when it does
// not fit.
func fitInteger(n *big.Int, like any) (any, error) {
	switch like.(type) {
	case int32:
		if !n.IsInt64() || n.Int64() < math.MinInt32 || n.Int64() > math.MaxInt32 {
			return nil, errAdjustRange
		}
		return int32(n.Int64()), nil
	case int64:
		if !n.IsInt64() {
			return nil, errAdjustRange
		}
		return n.Int64(), nil
	}
	return n, nil
}
