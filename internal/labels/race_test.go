package labels

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// raceTwice runs do twice at once and returns both errors.
func raceTwice(do func() error) [2]error {
	var errs [2]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = do()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// TestConcurrentSameName runs two creations (or imports) of one label name
// at once, many times: exactly one must win, the other must get ErrExists
// with the message a sequential duplicate gets, and one label must exist.
func TestConcurrentSameName(t *testing.T) {
	certPEM, _ := partnerPEM(t, 2048)
	tests := []struct {
		name   string
		rounds int
		do     func(s *Service, label string) error
	}{
		{"create", 15, func(s *Service, label string) error {
			_, err := s.Create(context.Background(), label, CreateOptions{Bits: 1024, SelfSigned: true})
			return err
		}},
		{"import", 40, func(s *Service, label string) error {
			_, err := s.ImportCert(context.Background(), label, certPEM)
			return err
		}},
		{"import undoable", 40, func(s *Service, label string) error {
			_, _, err := s.ImportUndoable(context.Background(), label, ImportOptions{CertPEM: certPEM})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newTestService(t)
			for round := range tt.rounds {
				label := fmt.Sprintf("race-%d", round)
				errs := raceTwice(func() error { return tt.do(s, label) })
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case errors.Is(err, ErrExists):
						if want := fmt.Sprintf("%v: %q", ErrExists, label); err.Error() != want {
							t.Fatalf("round %d: loser's error %q, want %q", round, err, want)
						}
					default:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d of 2 concurrent writers took label name %q, want 1", round, won, label)
				}
			}
			all, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != tt.rounds {
				t.Fatalf("%d labels after %d rounds, want one per round", len(all), tt.rounds)
			}
		})
	}
}

// TestNameFreeAgain checks that a name whose label is gone can be taken
// again although its claim stays behind (or is removed by an undo), and
// that a sequential duplicate is refused as before.
func TestNameFreeAgain(t *testing.T) {
	certPEM, _ := partnerPEM(t, 2048)
	all := keys.WithAccess(context.Background(), keys.Access{Group: keys.DefaultGroup, AllGroups: true})
	tests := []struct {
		name string
		// gone makes the label lb (imported under name) no label any more.
		gone func(t *testing.T, s *Service, m *keys.Manager, lb *Label)
	}{
		{"destroyed", func(t *testing.T, s *Service, m *keys.Manager, lb *Label) {
			if err := m.Revoke(all, lb.CertificateID, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if err := m.Destroy(all, lb.CertificateID); err != nil {
				t.Fatal(err)
			}
		}},
		{"renamed", func(t *testing.T, s *Service, m *keys.Manager, lb *Label) {
			if _, err := m.ModifyAttribute(all, lb.CertificateID, kmip.Attribute{AttributeName: kmip.AttributeNameName,
				AttributeValue: kmip.Name{NameValue: "elsewhere", NameType: kmip.NameTypeUninterpretedTextString}}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, m, _ := newTestService(t)
			ctx := context.Background()
			lb, err := s.ImportCert(ctx, "again", certPEM)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ImportCert(ctx, "again", certPEM)
			if want := fmt.Sprintf("%v: %q", ErrExists, "again"); err == nil || !errors.Is(err, ErrExists) || err.Error() != want {
				t.Fatalf("sequential duplicate: %v, want %q", err, want)
			}
			tt.gone(t, s, m, lb)
			if _, err := s.ImportCert(ctx, "again", certPEM); err != nil {
				t.Fatalf("name of a label that is gone: %v", err)
			}
			if _, err := s.ImportCert(ctx, "again", certPEM); !errors.Is(err, ErrExists) {
				t.Fatalf("duplicate of the new label: %v", err)
			}
		})
	}
	t.Run("undone import", func(t *testing.T) {
		s, m, _ := newTestService(t)
		ctx := context.Background()
		_, rm, err := s.ImportUndoable(ctx, "undone", ImportOptions{CertPEM: certPEM})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := m.ReadClaims(claimSpace, "undone"); err != nil || !c[0].Held() {
			t.Fatalf("claim after the import: %+v %v", c, err)
		}
		if err := rm(ctx); err != nil {
			t.Fatal(err)
		}
		if c, err := m.ReadClaims(claimSpace, "undone"); err != nil || c[0].Held() {
			t.Fatalf("claim after the undo: %+v %v", c, err)
		}
		if _, err := s.ImportCert(ctx, "undone", certPEM); err != nil {
			t.Fatalf("name of an undone import: %v", err)
		}
	})
}
