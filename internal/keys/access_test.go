package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
)

func TestGroupsAreIsolated(t *testing.T) {
	m, _ := newTestManager(t)
	bg := context.Background()
	a := WithAccess(bg, Access{Group: "tapes_a"})
	b := WithAccess(bg, Access{Group: "tapes_b"})
	auditor := WithAccess(bg, Access{AllGroups: true, ReadOnly: true})

	oa, err := m.Create(a, kmip.ObjectTypeSymmetricKey, aesAttrs("shared-name"))
	if err != nil {
		t.Fatal(err)
	}
	if oa.Group != "tapes_a" {
		t.Fatalf("object group = %q", oa.Group)
	}
	ob, err := m.Create(b, kmip.ObjectTypeSymmetricKey, aesAttrs("shared-name"))
	if err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := m.Get(ctx, oa.ID); return err }},
		{"activate", func(ctx context.Context) error { return m.Activate(ctx, oa.ID) }},
		{"revoke", func(ctx context.Context) error {
			return m.Revoke(ctx, oa.ID, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeUnspecified}, time.Time{})
		}},
		{"destroy", func(ctx context.Context) error { return m.Destroy(ctx, oa.ID) }},
		{"add attribute", func(ctx context.Context) error {
			_, err := m.AddAttribute(ctx, oa.ID, kmip.Attribute{AttributeName: "x-a", AttributeValue: kmip.Name{NameValue: "v"}})
			return err
		}},
		{"rekey", func(ctx context.Context) error { _, err := m.ReKey(ctx, oa.ID, nil, nil); return err }},
		{"check", func(ctx context.Context) error { return m.Check(ctx, oa.ID, CheckRequest{}) }},
		{"obtain lease", func(ctx context.Context) error { _, _, err := m.ObtainLease(ctx, oa.ID); return err }},
		{"archive", func(ctx context.Context) error { return m.Archive(ctx, oa.ID) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			errOther := op.do(b)
			_, errMissing := m.Get(b, "no-such-id")
			if !errors.Is(errOther, ErrNotFound) || !errors.Is(errMissing, ErrNotFound) {
				t.Fatalf("group B on A's object: %v; on a missing id: %v", errOther, errMissing)
			}
			if err := op.do(auditor); op.name != "get" && op.name != "check" && op.name != "obtain lease" && !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("read-only caller changed an object: %v", err)
			}
		})
	}
	ids, _, err := m.Locate(b, LocateQuery{Attributes: []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "shared-name"}}}})
	if err != nil || len(ids) != 1 || ids[0] != ob.ID {
		t.Fatalf("group B locate = %v, %v; want only %s", ids, err, ob.ID)
	}
	ids, _, _ = m.Locate(auditor, LocateQuery{Attributes: []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "shared-name"}}}})
	if len(ids) != 2 {
		t.Fatalf("all-groups locate = %v", ids)
	}
	if _, err := m.Create(auditor, kmip.ObjectTypeSymmetricKey, aesAttrs("x")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("read-only create: %v", err)
	}
}
