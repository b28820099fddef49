package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestOneWayAttributes checks that no client can make a key extractable or
// non-sensitive again once it is not.
func TestOneWayAttributes(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	attrs := append(aesAttrs("oneway"),
		kmip.Attribute{AttributeName: kmip.AttributeNameExtractable, AttributeValue: false},
		kmip.Attribute{AttributeName: kmip.AttributeNameSensitive, AttributeValue: true})
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, attrs)
	if err != nil {
		t.Fatal(err)
	}
	open, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("open"),
		kmip.Attribute{AttributeName: kmip.AttributeNameExtractable, AttributeValue: true},
		kmip.Attribute{AttributeName: kmip.AttributeNameSensitive, AttributeValue: false}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		attr kmip.AttributeName
		val  bool
		want error
	}{
		{"extractable false to true", o.ID, kmip.AttributeNameExtractable, true, ErrPermissionDenied},
		{"sensitive true to false", o.ID, kmip.AttributeNameSensitive, false, ErrPermissionDenied},
		{"extractable true to false", open.ID, kmip.AttributeNameExtractable, false, nil},
		{"sensitive false to true", open.ID, kmip.AttributeNameSensitive, true, nil},
		{"extractable stays false", open.ID, kmip.AttributeNameExtractable, true, ErrPermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.ModifyAttribute(ctx, tc.id, kmip.Attribute{AttributeName: tc.attr, AttributeValue: tc.val})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
