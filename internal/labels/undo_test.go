package labels

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/store"
)

// faultyStore refuses its Apply calls from the failFrom-th (1-based) to
// the failTo-th, as a full disk or a lost quorum would.
type faultyStore struct {
	store.Store
	calls, failFrom, failTo int
}

var errDisk = errors.New("injected store failure")

func (f *faultyStore) Apply(ctx context.Context, cmd store.Command) error {
	f.calls++
	if f.failFrom > 0 && f.calls >= f.failFrom && f.calls <= f.failTo {
		return fmt.Errorf("apply %d: %w", f.calls, errDisk)
	}
	return f.Store.Apply(ctx, cmd)
}

// records copies the object records, index entries and name claims of st.
func records(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(func(r store.Reader) error {
		for _, b := range []string{"objects", "index", "claims"} {
			err := r.Scan(b, nil, nil, func(k, v []byte) (bool, error) {
				out[b+"/"+string(k)] = string(v)
				return true, nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportUndoable(t *testing.T) {
	ctx := context.Background()
	certPEM, key := partnerPEM(t, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	otherPEM, _ := partnerPEM(t, 2048)
	for _, tc := range []struct {
		name string
		// failFrom..failTo are the store writes refused, counted from the
		// import's first.
		failFrom, failTo int
		// change changes the label after the import.
		change      bool
		wantImport  error // nil: the import succeeds
		wantRemoved bool
	}{
		{name: "removed", wantRemoved: true},
		{name: "changed meanwhile: not removed", change: true},
		{name: "the import fails half way: its objects are removed", failFrom: 4, failTo: 4, wantImport: errDisk},
		{name: "the import fails and so does its cleanup", failFrom: 4, failTo: 1 << 30, wantImport: ErrNotRemoved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed := barriertest.New(t)
			fs := &faultyStore{Store: sealed.Store}
			m, err := keys.New(keys.Options{Store: fs, Barrier: sealed.Barrier})
			if err != nil {
				t.Fatal(err)
			}
			s := New(m, nil, nil)
			// A label the server had before, which nothing may touch.
			if _, err := s.ImportCert(ctx, "OTHER", otherPEM); err != nil {
				t.Fatal(err)
			}
			before := records(t, sealed.Store)
			if tc.failFrom > 0 {
				fs.failFrom, fs.failTo = fs.calls+tc.failFrom, fs.calls+tc.failTo
			}
			lb, remove, err := s.ImportUndoable(ctx, "L1", ImportOptions{CertPEM: certPEM, KeyPEM: keyPEM})
			if tc.wantImport != nil {
				if !errors.Is(err, tc.wantImport) || lb != nil || remove != nil {
					t.Fatalf("import: %v, want %v", err, tc.wantImport)
				}
				after := records(t, sealed.Store)
				if tc.wantImport == ErrNotRemoved {
					if maps.Equal(before, after) {
						t.Fatal("the failed cleanup left nothing: the test did not fail it")
					}
					return
				}
				if !maps.Equal(before, after) {
					t.Fatalf("a failed import left records: %d before, %d after", len(before), len(after))
				}
				if _, err := s.Get(ctx, "L1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("after the failed import: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !lb.HasPrivateKey || lb.PrivateKeyID == "" {
				t.Fatalf("label %+v", lb)
			}
			if tc.change {
				note := kmip.Attribute{AttributeName: "x-note", AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: "served"}}
				if _, err := m.AddAttribute(scope(ctx), lb.CertificateID, note); err != nil {
					t.Fatal(err)
				}
			}
			err = remove(ctx)
			if !tc.wantRemoved {
				if !errors.Is(err, ErrNotRemoved) {
					t.Fatalf("remove: %v, want ErrNotRemoved", err)
				}
				if _, err := s.Get(ctx, "L1"); err != nil {
					t.Fatalf("label not removed must stay: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if after := records(t, sealed.Store); !maps.Equal(before, after) {
				t.Fatalf("removal left records: %d before, %d after", len(before), len(after))
			}
			for _, id := range []string{lb.CertificateID, lb.PublicKeyID, lb.PrivateKeyID} {
				if _, err := m.Get(scope(ctx), id); !errors.Is(err, keys.ErrNotFound) {
					t.Errorf("object %s: %v, want not found", id, err)
				}
			}
			if err := remove(ctx); err != nil {
				t.Fatalf("second removal: %v", err)
			}
			// The name is free again.
			if _, err := s.ImportKeyPair(ctx, "L1", certPEM, keyPEM); err != nil {
				t.Fatalf("import again: %v", err)
			}
		})
	}
}
