package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
)

// TestLabelNameTakenOnceAcrossNodes imports one label name on the leader
// and on a follower at once, many times: the name's claim is a
// precondition of the replicated command, so exactly one import wins and
// the other gets labels.ErrExists, and every node holds one label of that
// name.
func TestLabelNameTakenOnceAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(nil)
	f := c.follower()
	mk, err := barrier.CreateMasterKey(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	svc := func(i int) *labels.Service {
		b, err := barrier.New(context.Background(), c.nodes[i], mk, barrier.Options{})
		if err != nil {
			t.Fatalf("barrier on node %d: %v", i, err)
		}
		m, err := keys.New(keys.Options{Store: c.nodes[i], Barrier: b})
		if err != nil {
			t.Fatal(err)
		}
		return labels.New(m, nil, nil)
	}
	services := []*labels.Service{svc(l), svc(f)}
	certPEM := testLabelCert(t)
	const rounds = 10
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, s := range services {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.ImportCert(context.Background(), name, certPEM)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, labels.ErrExists):
				t.Fatalf("round %d: %v", r, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 2 imports on two nodes took label name %q, want 1", r, won, name)
		}
	}
	// Every node applied the same outcomes: one label per name.
	deadline := time.Now().Add(10 * time.Second)
	for i := range c.nodes {
		s := svc(i)
		for {
			all, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(all) == rounds {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d holds %d labels, want %d", i, len(all), rounds)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// testLabelCert is a self-signed RSA certificate in PEM, as a partner's
// label certificate.
func testLabelCert(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
