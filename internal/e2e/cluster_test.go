package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// clusterNode is one keywarden server of a test cluster.
type clusterNode struct {
	dir string
	cc  server.ClusterConfig
	srv *server.Server // nil while stopped
}

// startNode starts (or restarts) a cluster node on its data directory.
func startNode(t *testing.T, n *clusterNode) {
	t.Helper()
	srv, err := server.New(server.Config{
		DataDir: n.dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), ShutdownGrace: 2 * time.Second, Node: n.cc.NodeID,
		Cluster: n.cc,
	})
	if err != nil {
		t.Fatalf("start %s: %v", n.cc.NodeID, err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", n.cc.NodeID, err)
	}
	n.srv = srv
	// A restart binds the same cluster address: the others know it.
	n.cc.Addr = srv.ClusterAddr()
	n.cc.Join, n.cc.Bootstrap = "", false
}

// stopNode shuts a node down; from the others' side it simply vanishes.
func stopNode(t *testing.T, n *clusterNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Errorf("stop %s: %v", n.cc.NodeID, err)
	}
	n.srv = nil
}

// kmipGetObject returns the TTLV encoding of the object id as node addr
// serves it, or a failure reason.
func kmipGetObject(t *testing.T, addr string, conf *tls.Config, id string) ([]byte, string) {
	t.Helper()
	c := dialKMIP(t, addr, conf)
	defer c.conn.Close()
	it, err := c.call(&payloads.GetRequestPayload{UniqueIdentifier: id})
	if err != nil {
		return nil, err.Error()
	}
	if it.ResultStatus != kmip.ResultStatusSuccess {
		return nil, ttlv.EnumStr(it.ResultReason) + ": " + it.ResultMessage
	}
	return ttlv.MarshalTTLV(it.ResponsePayload.(*payloads.GetResponsePayload).Object), ""
}

// waitObject waits until node n serves id with the encoding want.
func waitObject(t *testing.T, n *clusterNode, conf *tls.Config, id string, want []byte) {
	t.Helper()
	kmipAddr, _, _ := n.srv.Addrs()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, why := kmipGetObject(t, kmipAddr, conf, id)
		if why == "" && bytes.Equal(got, want) {
			return
		}
		if why == "" {
			t.Fatalf("%s serves %s with other key material", n.cc.NodeID, id)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve %s: %s", n.cc.NodeID, id, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterKMIP runs a three-node cluster of real servers over TLS: a key
// created on a follower is served identically by another node; the leader
// stops and the survivors elect a new one and go on creating keys; a lone
// node refuses to create keys but answers health and status; the stopped
// nodes come back and catch up.
func TestClusterKMIP(t *testing.T) {
	first := t.TempDir()
	if err := server.Init(context.Background(), server.InitConfig{DataDir: first}); err != nil {
		t.Fatal(err)
	}
	timing := server.ClusterConfig{
		Addr:             "127.0.0.1:0",
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		LeaderLeaseTimeout: 300 * time.Millisecond, ApplyTimeout: 2 * time.Second,
	}
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		dir := first
		if i > 0 {
			// A new node starts from a copy of an initialised directory:
			// same master key, CA and keyring.
			dir = t.TempDir()
			testenv.CopyDir(t, first, dir)
		}
		cc := timing
		cc.NodeID = []string{"n0", "n1", "n2"}[i]
		nodes[i] = &clusterNode{dir: dir, cc: cc}
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			if n.srv != nil {
				stopNode(t, n)
			}
		}
	})
	nodes[0].cc.Bootstrap = true
	startNode(t, nodes[0])
	for _, n := range nodes[1:] {
		n.cc.Join = nodes[0].srv.ClusterAddr()
		startNode(t, n)
	}
	p := pki.PathsFor(first)
	adminTLS, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	adminAPI := func(n *clusterNode) *client.Client {
		_, _, addr := n.srv.Addrs()
		c, err := client.New(client.Config{Addr: addr, CACert: p.CACert, ClientCert: p.AdminCert, ClientKey: p.AdminKey, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	leaderOf := func() int {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for i, n := range nodes {
				if n.srv != nil && n.srv.Cluster().IsLeader() {
					return i
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no leader")
		return -1
	}
	create := func(n *clusterNode, name string) (string, error) {
		kmipAddr, _, _ := n.srv.Addrs()
		c := dialKMIP(t, kmipAddr, adminTLS)
		defer c.conn.Close()
		it, err := c.call(aesKey(name))
		if err != nil {
			return "", err
		}
		if it.ResultStatus != kmip.ResultStatusSuccess {
			return "", &kmipFailure{reason: ttlv.EnumStr(it.ResultReason), msg: it.ResultMessage}
		}
		return it.ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier, nil
	}

	leader := leaderOf()
	follower := (leader + 1) % 3
	other := (leader + 2) % 3
	var id string
	var key []byte
	t.Run("create on a follower, get on another node", func(t *testing.T) {
		if id, err = create(nodes[follower], "cluster-key-1"); err != nil {
			t.Fatalf("create on follower %s: %v", nodes[follower].cc.NodeID, err)
		}
		// The follower answered after the quorum commit and its own apply.
		kmipAddr, _, _ := nodes[follower].srv.Addrs()
		var why string
		if key, why = kmipGetObject(t, kmipAddr, adminTLS, id); why != "" {
			t.Fatalf("get on the creating follower: %s", why)
		}
		waitObject(t, nodes[other], adminTLS, id, key)
		waitObject(t, nodes[leader], adminTLS, id, key)
	})

	t.Run("status", func(t *testing.T) {
		st, err := adminAPI(nodes[follower]).ClusterStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.LeaderID != nodes[leader].cc.NodeID || len(st.Nodes) != 3 {
			t.Fatalf("status: leader %q, %d nodes", st.LeaderID, len(st.Nodes))
		}
		for _, n := range st.Nodes {
			if !n.Reachable {
				t.Errorf("node %s unreachable: %s", n.ID, n.Error)
			}
		}
	})

	var id2 string
	t.Run("the leader stops, writes continue", func(t *testing.T) {
		stopped := time.Now()
		stopNode(t, nodes[leader])
		for {
			id2, err = create(nodes[follower], "cluster-key-2")
			if err == nil {
				break
			}
			if time.Since(stopped) > 10*time.Second {
				t.Fatalf("no write accepted 10s after the leader stopped: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("writes accepted again %v after the leader stopped", time.Since(stopped).Round(time.Millisecond))
		if since := time.Since(stopped); since > 5*time.Second {
			t.Errorf("the cluster served again after %v; want under 5s", since)
		}
		waitObject(t, nodes[other], adminTLS, id, key)
	})

	t.Run("a lone node refuses writes and answers health", func(t *testing.T) {
		stopNode(t, nodes[other])
		lone := nodes[follower]
		for _, attempt := range []string{"first", "second"} {
			start := time.Now()
			_, err := create(lone, "refused-"+attempt)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("%s create on a lone node succeeded", attempt)
			}
			if !strings.Contains(err.Error(), "no quorum") {
				t.Errorf("refusal %q does not say why", err)
			}
			if took > 4*time.Second {
				t.Errorf("refusal took %v", took)
			}
			t.Logf("%s create refused in %v: %v", attempt, took.Round(time.Millisecond), err)
		}
		api := adminAPI(lone)
		if err := api.Health(context.Background()); err != nil {
			t.Errorf("health on a lone node: %v", err)
		}
		st, err := api.ClusterStatus(context.Background())
		if err != nil {
			t.Fatalf("cluster status on a lone node: %v", err)
		}
		if st.LeaderID != "" {
			t.Errorf("a lone node names leader %q", st.LeaderID)
		}
	})

	t.Run("stopped nodes come back and catch up", func(t *testing.T) {
		startNode(t, nodes[leader])
		startNode(t, nodes[other])
		for _, n := range nodes {
			waitObject(t, n, adminTLS, id, key)
		}
		// Elections may still settle after the restarts: a Get is recorded,
		// so it is refused until a leader is known.
		kmipAddr, _, _ := nodes[follower].srv.Addrs()
		var key2 []byte
		deadline := time.Now().Add(10 * time.Second)
		for {
			var why string
			if key2, why = kmipGetObject(t, kmipAddr, adminTLS, id2); why == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("get %s: %s", id2, why)
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitObject(t, nodes[leader], adminTLS, id2, key2)
		waitObject(t, nodes[other], adminTLS, id2, key2)
		if _, err := create(nodes[leader], "cluster-key-3"); err != nil {
			t.Errorf("create after the cluster healed: %v", err)
		}
	})
}

// kmipFailure is a KMIP operation that failed.
type kmipFailure struct{ reason, msg string }

func (e *kmipFailure) Error() string { return e.reason + ": " + e.msg }
