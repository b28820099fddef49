package devices

import (
	"context"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier"
)

// TestReloadRevoked: a second registry over the same store (a cluster node
// whose store received a revocation by replication) refuses the
// certificate only once it reloads; the bucket test says when to.
func TestReloadRevoked(t *testing.T) {
	ctx := context.Background()
	a, e := newRegistry(t, Options{})
	b2, err := barrier.New(ctx, e.st.Store, e.mk, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(ctx, Options{Store: e.st.Store, Barrier: b2, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(selfSigned(t, "drive"))
	if err := a.Revoke(ctx, RevokedCert{Fingerprint: fp, Reason: "stolen"}); err != nil {
		t.Fatal(err)
	}
	if other.IsRevoked(fp) {
		t.Fatal("the other registry knows the revocation before a reload")
	}
	if err := other.ReloadRevoked(ctx); err != nil {
		t.Fatal(err)
	}
	if !other.IsRevoked(fp) {
		t.Fatal("the other registry does not refuse the certificate after a reload")
	}
	if !a.IsRevoked(fp) {
		t.Fatal("the revoking registry forgot the revocation")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := other.ReloadRevoked(canceled); err == nil {
		t.Fatal("reload with a canceled context succeeded")
	}
	tests := []struct {
		name    string
		buckets []string
		want    bool
	}{
		{"revocations written", []string{"devices", "revoked"}, true},
		{"other buckets", []string{"devices", "pending", "objects"}, false},
		{"nothing", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RevocationsChanged(tc.buckets); got != tc.want {
				t.Fatalf("RevocationsChanged(%q) = %v; want %v", tc.buckets, got, tc.want)
			}
		})
	}
}
