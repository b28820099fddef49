package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/bundle"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestBundleImportFailureUndone imports, through the Go client, a bundle
// of server A whose second label's private key does not match its
// certificate: B removes the label it had written, never reaches the key
// group, and the client gets a *client.BundleImportError saying so. The
// untouched bundle then imports.
func TestBundleImportFailureUndone(t *testing.T) {
	ctx := context.Background()
	a, b := testenv.Start(t), testenv.Start(t)
	if _, err := a.Server.Labels().Create(ctx, "GOOD1", labels.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Server.KeyGroups().Create(ctx, "KG", "kgf01-02"); err != nil {
		t.Fatal(err)
	}
	const pass = "bundle passphrase"
	good, err := adminClient(t, a).ExportBundle(ctx, client.BundleExport{Labels: []string{"GOOD1"}, KeyGroups: []string{"KG"}, Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	c, err := bundle.Open(good, bundle.Keys{Passphrase: []byte(pass)})
	if err != nil {
		t.Fatal(err)
	}
	c.Labels = append(c.Labels, mismatchedLabel(t, "BAD"))
	broken, err := bundle.SealPassphrase(c, []byte(pass), backup.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}

	cb := adminClient(t, b)
	_, err = cb.ImportBundle(ctx, client.BundleImport{Bundle: broken, Passphrase: pass})
	var ie *client.BundleImportError
	if !errors.As(err, &ie) {
		t.Fatalf("import: %v, want a *client.BundleImportError", err)
	}
	if ie.Problem.Type != client.ProblemImportUndone || client.StatusOf(err) != http.StatusBadRequest ||
		ie.Failed != (client.BundleWrite{Kind: "label", Name: "BAD"}) ||
		len(ie.Written) != 1 || len(ie.Undone) != 1 || ie.Undone[0].Name != "GOOD1" || len(ie.Left) != 0 {
		t.Fatalf("import error %v: %+v", err, ie)
	}
	if _, err := b.Server.Labels().Get(ctx, "GOOD1"); !errors.Is(err, labels.ErrNotFound) {
		t.Fatalf("GOOD1 on B after the failed import: %v", err)
	}
	if _, err := b.Server.KeyGroups().Get(ctx, "KG"); !errors.Is(err, keygroups.ErrNotFound) {
		t.Fatalf("KG on B after the failed import: %v", err)
	}
	res, err := cb.ImportBundle(ctx, client.BundleImport{Bundle: good, Passphrase: pass})
	if err != nil {
		t.Fatalf("import of the untouched bundle: %v", err)
	}
	want := map[string]string{"label/GOOD1": "imported", "keygroup/KG": "imported"}
	if got := actions(res); !equalMaps(got, want) {
		t.Fatalf("import: %v, want %v", got, want)
	}
}

// mismatchedLabel is a bundle label whose private key is not its
// certificate's.
func mismatchedLabel(t *testing.T, name string) bundle.Label {
	t.Helper()
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ks[i] = k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ks[0].PublicKey, ks[0])
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ks[1])
	if err != nil {
		t.Fatal(err)
	}
	return bundle.Label{Name: name, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))}
}
