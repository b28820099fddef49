package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// freePort returns a port free on ip at the time of the call.
func freePort(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		// Linux routes all of 127.0.0.0/8 to the loopback interface;
		// other systems may only have 127.0.0.1.
		t.Skipf("this host has no loopback address %s (the partition proxies tell nodes apart by source address): %v", ip, err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestClusterPartition runs three servers whose cluster traffic passes
// through proxies the test controls. The leader is cut off from the two
// others: it refuses KMIP creates and 3592 writes with the no-quorum
// answer and keeps answering health; the two others elect a leader and go
// on; once the partition heals every node holds the same keys, without
// the refused ones.
func TestClusterPartition(t *testing.T) {
	first := t.TempDir()
	if err := server.Init(context.Background(), server.InitConfig{DataDir: first}); err != nil {
		t.Fatal(err)
	}
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	pn := newPartitionNet(t, ips)
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		dir := first
		if i > 0 {
			dir = t.TempDir()
			testenv.CopyDir(t, first, dir)
		}
		bind := freePort(t, ips[i])
		cc := server.ClusterConfig{
			NodeID: fmt.Sprintf("n%d", i), Addr: bind, SourceAddr: ips[i], Advertise: pn.proxy(i, bind),
			ApplyTimeout: 2 * time.Second,
		}
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
		n.cc.Join = nodes[0].cc.Advertise
		startNode(t, n)
	}
	paths := pki.PathsFor(first)
	adminTLS, err := pki.ClientTLS(paths.CACert, paths.AdminCert, paths.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	api := func(n *clusterNode) *client.Client {
		_, _, addr := n.srv.Addrs()
		c, err := client.New(client.Config{Addr: addr, CACert: paths.CACert, ClientCert: paths.AdminCert, ClientKey: paths.AdminKey, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	leader := -1
	for deadline := time.Now().Add(15 * time.Second); leader < 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for i, n := range nodes {
			if n.srv.Cluster().IsLeader() {
				leader = i
			}
		}
	}
	if leader < 0 {
		t.Fatal("no leader")
	}
	driveTLS := setupProcDrive(t, api(nodes[(leader+1)%3]), paths.CACert)
	create := func(n *clusterNode, name string) (string, error) {
		kmipAddr, _, _ := n.srv.Addrs()
		c, err := dialKMIPConn(kmipAddr, adminTLS)
		if err != nil {
			return "", err
		}
		defer c.close()
		return c.create(name)
	}
	before, err := create(nodes[(leader+1)%3], "before-partition")
	if err != nil {
		t.Fatalf("create before the partition: %v", err)
	}

	pn.isolate(leader, 3)
	cutAt := time.Now()
	minority := nodes[leader]
	var majority []*clusterNode
	for i, n := range nodes {
		if i != leader {
			majority = append(majority, n)
		}
	}
	t.Logf("leader %s cut off from the others", minority.cc.NodeID)

	t.Run("the minority refuses recorded requests", func(t *testing.T) {
		for _, attempt := range []string{"first", "second"} {
			start := time.Now()
			_, err := create(minority, "refused-"+attempt)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("%s create on the minority acknowledged", attempt)
			}
			if !strings.Contains(err.Error(), "no quorum") {
				t.Errorf("%s refusal %q does not say no quorum", attempt, err)
			}
			t.Logf("%s create refused in %v: %v", attempt, took.Round(time.Millisecond), err)
		}
		_, deviceAddr, _ := minority.srv.Addrs()
		dc, err := device.New(device.Config{Servers: []string{deviceAddr}, TLS: driveTLS, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = dc.WriteKey(context.Background(), codec.WriteKeyRequest{DriveSerial: loadDriveSerial, WWN: loadDriveSerial, Volser: "PMIN01"})
		if err == nil || !strings.Contains(err.Error(), "no quorum") {
			t.Errorf("3592 write on the minority: %v; want a no-quorum refusal", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := api(minority).Health(ctx); err != nil {
			t.Errorf("health on the minority: %v", err)
		}
	})

	var majorityKeys []string
	t.Run("the majority goes on", func(t *testing.T) {
		for i := range 20 {
			n := majority[i%2]
			var id string
			var err error
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if id, err = create(n, fmt.Sprintf("majority-%d", i)); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("create %d on %s: %v", i, n.cc.NodeID, err)
			}
			if i == 0 {
				t.Logf("the majority acknowledged a create %v after the cut", time.Since(cutAt).Round(time.Millisecond))
			}
			majorityKeys = append(majorityKeys, id)
		}
		_, deviceAddr, _ := majority[0].srv.Addrs()
		_, deviceAddr2, _ := majority[1].srv.Addrs()
		dc, err := device.New(device.Config{Servers: []string{deviceAddr, deviceAddr2}, TLS: driveTLS, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := dc.WriteKey(context.Background(), codec.WriteKeyRequest{DriveSerial: loadDriveSerial, WWN: loadDriveSerial, Volser: "PMAJ01"}); err != nil {
			t.Errorf("3592 write on the majority: %v", err)
		}
		if ids := keyIDs(t, api(minority)); slices.Contains(ids, majorityKeys[0]) {
			t.Error("the cut-off node holds a key of the majority")
		}
	})

	pn.heal()
	healed := time.Now()
	t.Run("after healing all nodes agree", func(t *testing.T) {
		var want []string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			sets := make([][]string, len(nodes))
			for i, n := range nodes {
				sets[i] = keyIDs(t, api(n))
			}
			if slices.Equal(sets[0], sets[1]) && slices.Equal(sets[1], sets[2]) &&
				slices.Contains(sets[0], majorityKeys[len(majorityKeys)-1]) {
				want = sets[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the nodes hold different keys 30s after healing: %d, %d, %d", len(sets[0]), len(sets[1]), len(sets[2]))
			}
		}
		t.Logf("all nodes list the same %d keys %v after healing", len(want), time.Since(healed).Round(time.Millisecond))
		for _, id := range append([]string{before}, majorityKeys...) {
			if !slices.Contains(want, id) {
				t.Errorf("acknowledged key %s missing after healing", id)
			}
		}
		keys, _, err := api(minority).Keys(context.Background(), client.KeyFilter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			for _, name := range k.Names {
				if strings.HasPrefix(name, "refused-") {
					t.Errorf("a refused create is in the store after healing: %s %s", k.ID, name)
				}
			}
		}
		// The key material is the same on every node.
		var ref []byte
		for _, n := range nodes {
			kmipAddr, _, _ := n.srv.Addrs()
			got := getOn(t, kmipAddr, adminTLS, majorityKeys[0])
			if ref != nil && !bytes.Equal(ref, got) {
				t.Errorf("%s serves %s with other key material", n.cc.NodeID, majorityKeys[0])
			}
			ref = got
		}
	})
}

// keyIDs lists the ids of every key a node's admin API reports, sorted.
func keyIDs(t *testing.T, api *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys, _, err := api.Keys(ctx, client.KeyFilter{Limit: 10000})
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	slices.Sort(ids)
	return ids
}

// getOn gets a key's material from a KMIP listener, retrying while an
// election settles.
func getOn(t *testing.T, addr string, conf *tls.Config, id string) []byte {
	t.Helper()
	c, err := dialKMIPConn(addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	b, err := getRetry(c, id)
	if err != nil {
		t.Fatalf("get %s on %s: %v", id, addr, err)
	}
	return b
}
