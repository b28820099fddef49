package keys

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/store"
)

// newTestManager returns a Manager on a real bbolt file and a real barrier.
func newTestManager(t testing.TB) (*Manager, *store.Bolt) {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	m, err := New(Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	return m, st
}

func aesAttrs(name string) []kmip.Attribute {
	return []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("k1"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want error
		st   kmip.State
	}{
		{"destroy pre-active is allowed later; activate", func() error { return m.Activate(ctx, o.ID) }, nil, kmip.StateActive},
		{"activate twice", func() error { return m.Activate(ctx, o.ID) }, ErrWrongState, kmip.StateActive},
		{"destroy active", func() error { return m.Destroy(ctx, o.ID) }, ErrWrongState, kmip.StateActive},
		{"revoke", func() error {
			return m.Revoke(ctx, o.ID, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}, time.Time{})
		}, nil, kmip.StateDeactivated},
		{"destroy", func() error { return m.Destroy(ctx, o.ID) }, nil, kmip.StateDestroyed},
		{"compromise destroyed", func() error {
			return m.Revoke(ctx, o.ID, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeKeyCompromise}, time.Time{})
		}, nil, kmip.StateDestroyedCompromised},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			err := s.do()
			if !errors.Is(err, s.want) {
				t.Fatalf("err = %v, want %v", err, s.want)
			}
			got, err := m.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st := got.EffectiveState(time.Now()); st != s.st {
				t.Fatalf("state = %v, want %v", st, s.st)
			}
		})
	}
	got, _ := m.Get(ctx, o.ID)
	if got.Value != nil {
		t.Fatal("destroyed object still holds key material")
	}
}

func TestLocateByIndexes(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	var ids []string
	for _, n := range []string{"a", "b", "a"} {
		attrs := append(aesAttrs(n), kmip.Attribute{AttributeName: kmip.AttributeNameApplicationSpecificInformation,
			AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "tape-" + n}})
		o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, attrs)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	tests := []struct {
		name  string
		attrs []kmip.Attribute
		want  []string
	}{
		{"by name", []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "a"}}}, []string{ids[0], ids[2]}},
		{"by asi", []kmip.Attribute{{AttributeName: kmip.AttributeNameApplicationSpecificInformation,
			AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "tape-b"}}}, []string{ids[1]}},
		{"by type", []kmip.Attribute{{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey}}, ids},
		{"no match", []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "zz"}}}, nil},
		{"name and state", []kmip.Attribute{
			{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "a"}},
			{AttributeName: kmip.AttributeNameState, AttributeValue: kmip.StateActive}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := m.Locate(ctx, LocateQuery{Attributes: tc.attrs})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("got %v (total %d), want %v", got, total, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	got, total, err := m.Locate(ctx, LocateQuery{Attributes: tests[2].attrs, MaxItems: 1, Offset: 1})
	if err != nil || total != 3 || len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("paged locate = %v %d %v", got, total, err)
	}
}

func TestTamperedRecordIsNeverServed(t *testing.T) {
	ctx := context.Background()
	m, st := newTestManager(t)
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("t"))
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	st.View(func(r store.Reader) error {
		v, err := r.Get(bucketObjects, []byte(o.ID))
		sealed = bytes.Clone(v)
		return err
	})
	sealed[len(sealed)/2] ^= 0x01
	var cmd store.Command
	cmd.Put(bucketObjects, []byte(o.ID), sealed)
	if err := st.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, o.ID); !errors.Is(err, ErrCorrupted) {
		t.Fatalf("Get of a tampered record: err = %v, want ErrCorrupted", err)
	}
}
