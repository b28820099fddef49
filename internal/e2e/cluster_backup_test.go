package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestClusterBackupRestoredToSingleServer writes a tape through one node
// of a three-node cluster, takes a backup from another node with
// `keywarden backup`, restores it with `keywarden restore` and serves the
// restored directory as a single server (`keywarden serve`, no cluster
// flags): the tape reads back, the key created before the backup is
// served with the same material, and one created after it is absent.
func TestClusterBackupRestoredToSingleServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keywarden binary")
	}
	bin := buildKeywarden(t)
	nodes, paths := startInProcCluster(t)
	first := nodes[0].dir
	adminTLS, err := pki.ClientTLS(paths.CACert, paths.AdminCert, paths.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	apiOf := func(n *clusterNode) *client.Client { return nodeAPI(t, n, paths) }
	writer, backedUp := nodes[1], nodes[2]
	driveTLS := setupProcDrive(t, apiOf(writer), paths.CACert)

	// Before the backup: a tape and a key, through the writer node.
	kmipAddr, deviceAddr, _ := writer.srv.Addrs()
	data := randomData(t, 100_000)
	img := writeVolume(t, newDeviceClient(t, driveTLS, deviceAddr), loadDriveSerial, "CLB001", data)
	beforeID := mustCreate(t, kmipAddr, adminTLS, "before-backup")
	material := getOn(t, kmipAddr, adminTLS, beforeID)
	// The backup comes from another node: wait until it has applied the key.
	for deadline := time.Now().Add(15 * time.Second); !slices.Contains(keyIDs(t, apiOf(backedUp)), beforeID); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not list %s", backedUp.cc.NodeID, beforeID)
		}
	}

	work := t.TempDir()
	passFile := filepath.Join(work, "backup.pass")
	if err := os.WriteFile(passFile, []byte("cluster backup passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backupFile := filepath.Join(work, "cluster.kwbackup")
	_, _, backedUpAdmin := backedUp.srv.Addrs()
	cmd := exec.Command(bin, "backup", "--out", backupFile, "--passphrase-file", passFile)
	cmd.Env = append(os.Environ(), "KEYWARDEN_ADDR=https://"+backedUpAdmin, "KEYWARDEN_CACERT="+paths.CACert,
		"KEYWARDEN_CLIENT_CERT="+paths.AdminCert, "KEYWARDEN_CLIENT_KEY="+paths.AdminKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("keywarden backup from %s: %v\n%s", backedUp.cc.NodeID, err, out)
	}
	afterID := mustCreate(t, kmipAddr, adminTLS, "after-backup")

	restored := filepath.Join(work, "restored")
	if out, err := exec.Command(bin, "restore", "--in", backupFile, "--data-dir", restored, "--passphrase-file", passFile).CombinedOutput(); err != nil {
		t.Fatalf("keywarden restore: %v\n%s", err, out)
	}
	single := &procServer{bin: bin, dir: restored}
	single.start(t)

	t.Run("3592 read of a tape written before the backup", func(t *testing.T) {
		got, err := readVolume(newDeviceClient(t, driveTLS, single.device), loadDriveSerial, img)
		if err != nil {
			t.Fatalf("read through the restored single server: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("the restored server gives another data key")
		}
	})
	t.Run("the same keys as the cluster at the backup", func(t *testing.T) {
		if got := getOn(t, single.kmip, adminTLS, beforeID); !bytes.Equal(got, material) {
			t.Fatal("the restored server serves other key material under the same id")
		}
		c, err := dialKMIPConn(single.kmip, adminTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		if _, err := c.getMaterial(afterID); err == nil {
			t.Fatal("a key created after the backup is on the restored server")
		}
		recs, err := single.api(t, first).Usage(context.Background(), client.UsageFilter{Volser: "CLB001"})
		if err != nil || len(recs) == 0 {
			t.Fatalf("usage records of CLB001 on the restored server: %d, %v", len(recs), err)
		}
	})
	t.Run("the restored server is a single server", func(t *testing.T) {
		if _, err := single.api(t, first).ClusterStatus(context.Background()); err == nil {
			t.Fatal("the restored server answers cluster status as a cluster node")
		}
		if _, err := os.Stat(filepath.Join(restored, "raft")); !os.IsNotExist(err) {
			t.Fatalf("the restored directory holds Raft state: %v", err)
		}
	})
}

// mustCreate creates an AES key on a KMIP listener, retrying a refusal
// while an election settles, and returns its id.
func mustCreate(t *testing.T, kmipAddr string, conf *tls.Config, name string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := dialKMIPConn(kmipAddr, conf)
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.create(name)
		c.close()
		if err == nil {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startInProcCluster starts three in-process servers as a cluster from
// copies of one initialised directory (n0 bootstraps, the others join).
func startInProcCluster(t *testing.T) ([]*clusterNode, pki.Paths) {
	t.Helper()
	first := t.TempDir()
	if err := server.Init(context.Background(), server.InitConfig{DataDir: first}); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		dir := first
		if i > 0 {
			dir = t.TempDir()
			testenv.CopyDir(t, first, dir)
		}
		nodes[i] = &clusterNode{dir: dir, cc: server.ClusterConfig{
			NodeID: fmt.Sprintf("n%d", i), Addr: "127.0.0.1:0", ApplyTimeout: 2 * time.Second,
		}}
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
	return nodes, pki.PathsFor(first)
}

// nodeAPI is an admin API client of a node, as the administrator.
func nodeAPI(t *testing.T, n *clusterNode, paths pki.Paths) *client.Client {
	t.Helper()
	_, _, addr := n.srv.Addrs()
	c, err := client.New(client.Config{Addr: addr, CACert: paths.CACert, ClientCert: paths.AdminCert, ClientKey: paths.AdminKey, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
