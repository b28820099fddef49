package devices

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// testEnv is a data directory with a master key, a bbolt store and a
// barrier, which can be closed and reopened.
type testEnv struct {
	dir   string
	mk    barrier.MasterKey
	st    *countingStore
	clock *fakeClock
}

// countingStore is a real store that counts the commands applied.
type countingStore struct {
	store.Store
	applies atomic.Int64
}

func (c *countingStore) Apply(ctx context.Context, cmd store.Command) error {
	c.applies.Add(1)
	return c.Store.Apply(ctx, cmd)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{dir: dir, mk: mk, clock: &fakeClock{now: time.Now().UTC().Truncate(time.Second)}}
}

// open opens the store and a Registry over it; the store is closed at the
// end of the test or by close.
func (e *testEnv) open(t *testing.T, opts Options) *Registry {
	t.Helper()
	bolt, err := store.OpenBolt(filepath.Join(e.dir, "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = &countingStore{Store: bolt}
	t.Cleanup(func() { bolt.Close() })
	b, err := barrier.New(context.Background(), bolt, e.mk, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Barrier = e.st, b
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	r, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *testEnv) close(t *testing.T) {
	t.Helper()
	if err := e.st.Store.Close(); err != nil {
		t.Fatal(err)
	}
}

// newRegistry returns a Registry on a fresh data directory.
func newRegistry(t *testing.T, opts Options) (*Registry, *testEnv) {
	t.Helper()
	e := newEnv(t)
	return e.open(t, opts), e
}

// selfSigned returns a self-signed client certificate named cn, without
// the keywarden role extension; extra extensions are added as given.
func selfSigned(t *testing.T, cn string, extra ...pkix.Extension) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"Tape Library Inc"}},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: extra,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testCA is a keywarden PKI in a temporary data directory.
type testCA struct {
	dir  string
	mk   barrier.MasterKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	dir := t.TempDir()
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Init(dir, mk, nil); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, pki.PathsFor(dir).CACert))
	return &testCA{dir: dir, mk: mk, pool: pool}
}

// issue returns a client certificate with role from the CA.
func (ca *testCA) issue(t *testing.T, name string, role pki.Role) *x509.Certificate {
	t.Helper()
	certPath, _, err := pki.IssueClient(ca.dir, ca.mk, name, role, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return readCert(t, certPath)
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// wantErr fails unless errors.Is(err, want) (want nil: err must be nil).
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func mustGroup(t *testing.T, r *Registry, g Group) Group {
	t.Helper()
	got, err := r.CreateGroup(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustDevice(t *testing.T, r *Registry, d Device) Device {
	t.Helper()
	got, err := r.AddDevice(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
