package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/pki"
)

// Load of the kill tests: modest, so that they finish in well under a
// minute on two shared cores.
const (
	killCreates = 2000
	killWrites  = 200
	killWorkers = 4
)

// startProcCluster starts three `keywarden serve` processes from copies
// of one initialised directory (docs/cluster.md): n0 bootstraps, the
// others join it.
func startProcCluster(t *testing.T, bin string) []*procServer {
	t.Helper()
	first := initDir(t, bin)
	nodes := make([]*procServer, 3)
	for i := range nodes {
		dir := first
		if i > 0 {
			dir = cloneNodeDir(t, first)
		}
		nodes[i] = &procServer{bin: bin, dir: dir}
	}
	nodes[0].args = []string{"--node-id", "n0", "--cluster-addr", "127.0.0.1:0", "--bootstrap"}
	nodes[0].start(t)
	for i, n := range nodes[1:] {
		n.args = []string{"--node-id", fmt.Sprintf("n%d", i+1), "--cluster-addr", "127.0.0.1:0", "--join", nodes[0].clust}
		n.start(t)
	}
	// A restart binds the same cluster address, without bootstrap or join.
	for i, n := range nodes {
		n.args = []string{"--node-id", fmt.Sprintf("n%d", i), "--cluster-addr", n.clust}
	}
	return nodes
}

// leaderIndex asks the nodes who leads, until they name one.
func leaderIndex(t *testing.T, nodes []*procServer) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if !n.running() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			st, err := n.api(t, nodes[0].dir).ClusterStatus(ctx)
			cancel()
			if err == nil && st.LeaderID != "" {
				var i int
				if _, err := fmt.Sscanf(st.LeaderID, "n%d", &i); err == nil && nodes[i].running() {
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no leader named within 20s")
	return -1
}

// TestClusterLeaderKilled runs three server processes under a write load
// of KMIP creates and 3592 writes, kills the leader with SIGKILL halfway,
// and checks that every acknowledged key and usage record is on both
// survivors, that writes are accepted again within 5 seconds, and that the
// killed node restarts, rejoins and catches up.
func TestClusterLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keywarden binary and runs three server processes")
	}
	bin := buildKeywarden(t)
	nodes := startProcCluster(t, bin)
	dir := nodes[0].dir
	paths := pki.PathsFor(dir)
	adminTLS, err := pki.ClientTLS(paths.CACert, paths.AdminCert, paths.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	driveTLS := setupProcDrive(t, nodes[1].api(t, dir), paths.CACert)

	load := &writeLoad{
		kmipAddrs:   func() []string { return []string{nodes[0].kmip, nodes[1].kmip, nodes[2].kmip} },
		deviceAddrs: func() []string { return []string{nodes[0].device, nodes[1].device, nodes[2].device} },
		adminTLS:    adminTLS, driveTLS: driveTLS,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	loadDone := make(chan error, 1)
	started := time.Now()
	go func() { loadDone <- load.run(ctx, killWorkers, killCreates, killWrites) }()

	// Halfway through the creates, the leader dies.
	for load.acked.Load() < killCreates/2 {
		select {
		case err := <-loadDone:
			t.Fatalf("the load ended before the kill: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	dead := leaderIndex(t, nodes)
	ackedBefore := load.acked.Load()
	killedAt := time.Now()
	nodes[dead].kill(t)
	t.Logf("killed leader n%d with SIGKILL after %d acknowledged creates (%v into the load)",
		dead, ackedBefore, killedAt.Sub(started).Round(time.Millisecond))

	var survivors []*procServer
	for i, n := range nodes {
		if i != dead {
			survivors = append(survivors, n)
		}
	}
	t.Run("serves again within 5 seconds", func(t *testing.T) {
		// A probe writes through the survivors in turn until one acknowledges.
		var took time.Duration
		for attempt := 0; ; attempt++ {
			c, err := dialKMIPConn(survivors[attempt%2].kmip, adminTLS)
			if err == nil {
				_, err = c.create(fmt.Sprintf("probe-%d", attempt))
				c.close()
			}
			if err == nil {
				took = time.Since(killedAt)
				break
			}
			if time.Since(killedAt) > 30*time.Second {
				t.Fatalf("no write accepted 30s after the leader was killed: %v", err)
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Logf("writes accepted again %v after the leader was killed", took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("the cluster served again after %v; want under 5s", took)
		}
	})

	if err := <-loadDone; err != nil {
		t.Fatalf("load: %v (last failure: %v)", err, load.lastErr.Load())
	}
	t.Logf("load: %d creates and %d 3592 writes acknowledged in %v, %d refused or broken attempts (last: %v)",
		load.acked.Load(), len(load.volumes), time.Since(started).Round(time.Millisecond), load.fails.Load(), load.lastErr.Load())

	t.Run("every acknowledged write is on the survivors", func(t *testing.T) {
		for _, n := range survivors {
			load.checkAcked(t, n.args[1], n.api(t, dir))
		}
	})

	t.Run("the killed node rejoins and catches up", func(t *testing.T) {
		restarted := time.Now()
		nodes[dead].start(t)
		load.checkAcked(t, nodes[dead].args[1], nodes[dead].api(t, dir))
		t.Logf("n%d restarted and caught up in %v", dead, time.Since(restarted).Round(time.Millisecond))
		// Key material: a sample of keys is identical on the restarted
		// node and on a survivor (a Get is recorded: it needs the quorum,
		// which includes the restarted node again).
		keys := load.ackedKeys()
		back, err := dialKMIPConn(nodes[dead].kmip, adminTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer back.close()
		other, err := dialKMIPConn(survivors[0].kmip, adminTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer other.close()
		for range 40 {
			id := keys[rand.IntN(len(keys))]
			a, err := getRetry(back, id)
			if err != nil {
				t.Fatalf("get %s on the restarted node: %v", id, err)
			}
			b, err := getRetry(other, id)
			if err != nil {
				t.Fatalf("get %s on a survivor: %v", id, err)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("key %s differs between the restarted node and a survivor", id)
			}
		}
		// A sample of acknowledged volumes reads back through the
		// restarted node alone: the same data key.
		c, err := device.New(device.Config{Servers: []string{nodes[dead].device}, TLS: driveTLS, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		checkVolumesReadBack(t, c, load, 5)
	})
}

// getRetry gets a key's material, retrying for a while a refusal while
// an election settles.
func getRetry(c *kmipConn, id string) ([]byte, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := c.getMaterial(id)
		if err == nil || time.Now().After(deadline) {
			return b, err
		}
		if _, ok := err.(*kmipFailure); !ok {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkVolumesReadBack asks c for the read key of n acknowledged volumes,
// sending the EEDKs their write returned, and compares the data keys.
func checkVolumesReadBack(t *testing.T, c *device.Client, load *writeLoad, n int) {
	t.Helper()
	load.mu.Lock()
	vols := make(map[string]ackedVolume, n)
	for v, a := range load.volumes {
		if len(vols) == n {
			break
		}
		vols[v] = a
	}
	load.mu.Unlock()
	if len(vols) < n {
		t.Fatalf("only %d acknowledged volumes", len(vols))
	}
	for volser, a := range vols {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		dk, err := c.ReadKey(ctx, loadDriveSerial, volser, a.e1, a.e2)
		cancel()
		if err != nil {
			t.Fatalf("read key of %s: %v", volser, err)
		}
		if !bytes.Equal(dk, a.dk) {
			t.Fatalf("read key of %s differs from the key its write returned", volser)
		}
	}
}

// TestSingleNodeKilled kills a single server (no cluster) with SIGKILL
// in the middle of a write load of KMIP creates and 3592 writes, starts
// it again, lets the load finish, and checks that every acknowledged key
// and usage record is there.
func TestSingleNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keywarden binary and runs a server process")
	}
	bin := buildKeywarden(t)
	srv := &procServer{bin: bin, dir: initDir(t, bin)}
	srv.start(t)
	paths := pki.PathsFor(srv.dir)
	adminTLS, err := pki.ClientTLS(paths.CACert, paths.AdminCert, paths.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	driveTLS := setupProcDrive(t, srv.api(t, srv.dir), paths.CACert)

	// The listeners move to new ports when the server starts again.
	var addrs atomic.Pointer[[2]string]
	addrs.Store(&[2]string{srv.kmip, srv.device})
	load := &writeLoad{
		kmipAddrs:   func() []string { return []string{addrs.Load()[0]} },
		deviceAddrs: func() []string { return []string{addrs.Load()[1]} },
		adminTLS:    adminTLS, driveTLS: driveTLS,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	loadDone := make(chan error, 1)
	go func() { loadDone <- load.run(ctx, killWorkers, killCreates, killWrites) }()
	for load.acked.Load() < killCreates/2 {
		select {
		case err := <-loadDone:
			t.Fatalf("the load ended before the kill: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	srv.kill(t)
	ackedAtKill := load.acked.Load()
	load.mu.Lock()
	volsAtKill := len(load.volumes)
	load.mu.Unlock()
	t.Logf("killed the server with SIGKILL after %d acknowledged creates and %d writes", ackedAtKill, volsAtKill)

	restarted := time.Now()
	srv.start(t)
	addrs.Store(&[2]string{srv.kmip, srv.device})
	t.Logf("the server started again in %v", time.Since(restarted).Round(time.Millisecond))
	if err := <-loadDone; err != nil {
		t.Fatalf("load: %v (last failure: %v)", err, load.lastErr.Load())
	}
	t.Logf("load: %d creates and %d 3592 writes acknowledged, %d refused or broken attempts",
		load.acked.Load(), len(load.volumes), load.fails.Load())
	if load.fails.Load() == 0 {
		t.Error("no attempt failed: the kill did not land during the load")
	}

	api := srv.api(t, srv.dir)
	load.checkAcked(t, "restarted server", api)
	c, err := dialKMIPConn(srv.kmip, adminTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	keys := load.ackedKeys()
	for _, id := range []string{keys[0], keys[int(ackedAtKill)-1], keys[len(keys)-1]} {
		if _, err := c.getMaterial(id); err != nil {
			t.Errorf("get %s after the restart: %v", id, err)
		}
	}
	dc, err := device.New(device.Config{Servers: []string{srv.device}, TLS: driveTLS, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkVolumesReadBack(t, dc, load, 5)
}
