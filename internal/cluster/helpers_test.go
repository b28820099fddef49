package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// testPKI is a CA with a server (node) certificate and a client certificate.
type testPKI struct {
	pool   *x509.CertPool
	node   tls.Certificate
	client tls.Certificate
}

// newTestPKI makes a CA and its certificates, as pki.Init does.
func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, eku x509.ExtKeyUsage) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("leaf %d", serial)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku},
			DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool, node: leaf(2, x509.ExtKeyUsageServerAuth), client: leaf(3, x509.ExtKeyUsageClientAuth)}
}

// testCluster is a set of nodes on loopback, each in its own directory.
type testCluster struct {
	t     testing.TB
	pki   testPKI
	cfgs  []Config
	nodes []*Store // nil while a node is stopped
}

// tuning adjusts the configuration of every node.
type tuning func(*Config)

// startCluster starts n nodes: node 0 bootstraps, the others join it.
func startCluster(t testing.TB, n int, tune ...tuning) *testCluster {
	t.Helper()
	c := &testCluster{t: t, pki: newTestPKI(t)}
	for i := range n {
		dir := t.TempDir()
		cfg := Config{
			NodeID: fmt.Sprintf("node%d", i), BindAddr: "127.0.0.1:0", DataDir: dir,
			StorePath: filepath.Join(dir, "keywarden.db"), Certificate: c.pki.node, CA: c.pki.pool,
			Bootstrap: i == 0, Logger: testLogger(),
			HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
			LeaderLeaseTimeout: 300 * time.Millisecond, ApplyTimeout: 2 * time.Second,
		}
		for _, f := range tune {
			f(&cfg)
		}
		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("open node %d: %v", i, err)
		}
		// A restart binds the same port again.
		cfg.BindAddr = s.Addr()
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, s)
		if i == 0 {
			c.waitLeader(nil)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.nodes[0].Join(ctx, cfg.NodeID, s.Addr())
		cancel()
		if err != nil {
			t.Fatalf("join node %d: %v", i, err)
		}
	}
	t.Cleanup(c.closeAll)
	return c
}

// testLogger shows the nodes' logs with go test -v when KEYWARDEN_TEST_LOG
// is set.
func testLogger() *slog.Logger {
	if os.Getenv("KEYWARDEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (c *testCluster) closeAll() {
	for i, s := range c.nodes {
		if s != nil {
			if err := s.Close(); err != nil {
				c.t.Errorf("close node %d: %v", i, err)
			}
			c.nodes[i] = nil
		}
	}
}

// stop closes node i.
func (c *testCluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatalf("stop node %d: %v", i, err)
	}
	c.nodes[i] = nil
}

// restart opens node i again from its directory, on its address.
func (c *testCluster) restart(i int) *Store {
	c.t.Helper()
	cfg := c.cfgs[i]
	var s *Store
	var err error
	// The port may linger for a moment after the close.
	for range 50 {
		if s, err = Open(cfg); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("restart node %d: %v", i, err)
	}
	c.nodes[i] = s
	return s
}

// waitLeader waits until the running nodes agree on a leader and returns
// its index. A non-nil not excludes nodes that must not be the leader.
func (c *testCluster) waitLeader(not map[int]bool) int {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		leader := -1
		agreed := true
		for i, s := range c.nodes {
			if s == nil {
				continue
			}
			id, _ := s.Leader()
			if id == "" {
				agreed = false
				break
			}
			if s.IsLeader() {
				leader = i
			}
		}
		if agreed && leader >= 0 && !not[leader] {
			return leader
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader elected within 10s")
	return -1
}

// follower returns the index of a running node that does not lead.
func (c *testCluster) follower() int {
	c.t.Helper()
	for i, s := range c.nodes {
		if s != nil && !s.IsLeader() {
			return i
		}
	}
	c.t.Fatal("no follower")
	return -1
}

// put writes bucket/key=value through node i.
func put(t *testing.T, s *Store, bucket, key, value string) {
	t.Helper()
	var cmd store.Command
	cmd.Put(bucket, []byte(key), []byte(value))
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// get reads bucket/key from node s; nil when absent.
func get(t *testing.T, s *Store, bucket, key string) []byte {
	t.Helper()
	var out []byte
	err := s.View(func(r store.Reader) error {
		v, err := r.Get(bucket, []byte(key))
		if err != nil {
			return err
		}
		out = bytes.Clone(v)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return out
}

// waitValue waits until node s holds value at bucket/key.
func waitValue(t *testing.T, s *Store, bucket, key, value string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if string(get(t, s, bucket, key)) == value {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("node %s: %s/%s = %q; want %q", s.NodeID(), bucket, key, get(t, s, bucket, key), value)
}
