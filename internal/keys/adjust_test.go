package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestAdjustAttribute(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("adjust"),
		kmip.Attribute{AttributeName: "x-Two", AttributeValue: "a"},
		kmip.Attribute{AttributeName: "x-Two", AttributeValue: "b"},
		kmip.Attribute{AttributeName: kmip.AttributeNameExtractable, AttributeValue: false}))
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused by the adjustment")
	// A custom attribute's value is a generic TTLV value once stored.
	one := ttlv.Value{Tag: kmip.TagAttributeValue, Value: int32(1)}
	two := ttlv.Value{Tag: kmip.TagAttributeValue, Value: int32(2)}
	set := func(v any) AdjustFunc { return func(*Object, any, bool) (any, error) { return v, nil } }
	tests := []struct {
		name   string
		attr   kmip.AttributeName
		adjust AdjustFunc
		want   error
		after  any // the value after the step, when it succeeds
	}{
		{"absent: added", "x-N", func(_ *Object, cur any, present bool) (any, error) {
			if present || cur != nil {
				t.Errorf("absent attribute given as %v, %v", cur, present)
			}
			return one, nil
		}, nil, one},
		{"present: replaced", "x-N", func(_ *Object, cur any, present bool) (any, error) {
			if !present || cur != one {
				t.Errorf("current value %v, %v", cur, present)
			}
			return two, nil
		}, nil, two},
		{"the adjustment's error", "x-N", func(*Object, any, bool) (any, error) { return nil, refused }, refused, nil},
		{"read-only attribute", kmip.AttributeNameCryptographicLength, set(int32(1)), ErrAttributeReadOnly, nil},
		{"server attribute", "y-N", set(int32(1)), ErrAttributeReadOnly, nil},
		{"unknown attribute", "Nope", set(int32(1)), ErrInvalidField, nil},
		{"several instances", "x-Two", set("c"), ErrMultipleInstances, nil},
		{"one-way rule", kmip.AttributeNameExtractable, set(true), ErrPermissionDenied, nil},
		{"no value", "x-N", set(nil), ErrInvalidField, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.AdjustAttribute(ctx, o.ID, tc.attr, tc.adjust)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			got, err := m.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := got.Attr(tc.attr); v != tc.after {
				t.Fatalf("value %v, want %v", v, tc.after)
			}
		})
	}
	t.Run("only while pre-active", func(t *testing.T) {
		if err := m.Activate(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		_, err := m.AdjustAttribute(ctx, o.ID, kmip.AttributeNameActivationDate, set(m.Now()))
		if !errors.Is(err, ErrWrongState) {
			t.Fatalf("err = %v, want %v", err, ErrWrongState)
		}
	})
}
