package labels_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestKMIPSeesLabels checks, over a running server's KMIP listener, that a
// label's objects are ordinary managed objects and that its private key
// cannot be fetched.
func TestKMIPSeesLabels(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lb, err := env.Server.Labels().Create(ctx, "kmip-visible", labels.CreateOptions{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	p := pki.PathsFor(env.DataDir)
	c, err := kmipclient.DialContext(ctx, env.KMIPAddr,
		kmipclient.WithRootCAFile(p.CACert), kmipclient.WithClientCertFiles(p.AdminCert, p.AdminKey))
	if err != nil {
		t.Fatalf("dial KMIP: %v", err)
	}
	defer c.Close()

	tests := []struct {
		name    string
		id      string
		refused bool
	}{
		{"certificate", lb.CertificateID, false},
		{"public key", lb.PublicKeyID, false},
		{"private key", lb.PrivateKeyID, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Get(tc.id).ExecContext(ctx)
			switch {
			case tc.refused && err == nil:
				t.Fatal("KMIP Get of the label's private key succeeded")
			case tc.refused && !strings.Contains(strings.ToLower(err.Error()), "extractable"):
				t.Fatalf("KMIP Get refused for another reason: %v", err)
			case !tc.refused && err != nil:
				t.Fatalf("KMIP Get: %v", err)
			}
		})
	}

	// No attribute change opens a way out: the private key stays
	// unextractable whatever a client tries on Extractable.
	t.Run("make extractable", func(t *testing.T) {
		_, merr := c.ModifyAttribute(lb.PrivateKeyID, kmip.AttributeNameExtractable, true).ExecContext(ctx)
		_, derr := c.DeleteAttribute(lb.PrivateKeyID, kmip.AttributeNameExtractable).ExecContext(ctx)
		if merr == nil || derr == nil {
			t.Errorf("Extractable changed by a client: Modify Attribute: %v, Delete Attribute: %v", merr, derr)
		}
		if _, err := c.Get(lb.PrivateKeyID).ExecContext(ctx); err == nil {
			t.Fatal("KMIP Get of the label's private key succeeded after changing Extractable")
		}
	})

	resp, err := c.Locate().WithName("kmip-visible").ExecContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.UniqueIdentifier) != 3 {
		t.Errorf("KMIP Locate by name found %d objects, want 3", len(resp.UniqueIdentifier))
	}
}
