package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/pki"
)

// TestClusterRevocationReachesEveryNode revokes a client certificate
// through one node and checks that another node's handshakes refuse it
// soon after, without a restart: the revocation is replicated, and each
// node reloads its in-memory revoked set when an applied batch writes it.
func TestClusterRevocationReachesEveryNode(t *testing.T) {
	nodes, paths := startInProcCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ic, err := nodeAPI(t, nodes[0], paths).IssueCert(ctx, "second-admin", string(pki.RoleAdmin))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair([]byte(ic.Certificate), []byte(ic.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(paths.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	served := func(n *clusterNode) error {
		kmipAddr, _, _ := n.srv.Addrs()
		c, err := dialKMIPConn(kmipAddr, conf)
		if err != nil {
			return err
		}
		defer c.close()
		_, err = c.do(&payloads.DiscoverVersionsRequestPayload{})
		return err
	}
	for _, n := range nodes {
		if err := served(n); err != nil {
			t.Fatalf("%s refuses the certificate before its revocation: %v", n.cc.NodeID, err)
		}
	}
	if _, err := nodeAPI(t, nodes[1], paths).RevokeCert(ctx, client.Revocation{Fingerprint: ic.Fingerprint, Reason: "test"}); err != nil {
		t.Fatalf("revoke through %s: %v", nodes[1].cc.NodeID, err)
	}
	revoked := time.Now()
	for _, n := range nodes {
		for served(n) == nil {
			if time.Since(revoked) > 10*time.Second {
				t.Fatalf("%s still serves the certificate 10s after its revocation through n1", n.cc.NodeID)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s refuses the revoked certificate %v after the revocation", n.cc.NodeID, time.Since(revoked).Round(time.Millisecond))
	}
}
