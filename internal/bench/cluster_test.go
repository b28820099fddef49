package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// BenchmarkClusterCreate measures durable KMIP Create over TLS on a single
// server and, in the same run, on a three-node cluster on loopback
// (production Raft timings), through the leader and through a follower
// (which forwards the write to the leader). A cluster node answers only
// after the write is committed on a quorum (two fsync'd Raft logs) and
// applied to its own bbolt file. Every response is decoded and must be a
// success; ops/s and the p50/p99 latency are reported.
func BenchmarkClusterCreate(b *testing.B) {
	req := encodeCreate()
	singleDir := initBenchDir(b)
	single := startBenchServer(b, singleDir, server.ClusterConfig{})
	nodes, clusterDir := startBenchCluster(b)
	leader, follower := nodes[0], nodes[1]
	if !leader.Cluster().IsLeader() {
		for _, n := range nodes {
			if n.Cluster().IsLeader() {
				leader = n
			} else {
				follower = n
			}
		}
	}
	singleTLS, clusterTLS := adminClientTLS(b, singleDir), adminClientTLS(b, clusterDir)
	targets := []struct {
		name string
		srv  *server.Server
		conf *tls.Config
	}{{"single", single, singleTLS}, {"cluster3-leader", leader, clusterTLS}, {"cluster3-follower", follower, clusterTLS}}
	for _, target := range targets {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", target.name, clients), func(b *testing.B) {
				kmipAddr, _, _ := target.srv.Addrs()
				pool := dialPool(b, kmipAddr, target.conf, clients)
				runWorkers(b, clients, func(w, _ int) error {
					resp, err := pool[w].roundTrip(req)
					if err != nil {
						return err
					}
					_, err = decodeSuccess(resp)
					return err
				})
			})
		}
	}
}

// adminClientTLS is the administrator's client configuration of the data
// directory dir (shared by the nodes of a cluster), pinned to TLS 1.3.
func adminClientTLS(b *testing.B, dir string) *tls.Config {
	b.Helper()
	p := pki.PathsFor(dir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		b.Fatal(err)
	}
	conf.MinVersion = tls.VersionTLS13
	conf.ServerName = "127.0.0.1"
	return conf
}

// initBenchDir initialises a new data directory.
func initBenchDir(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := server.Init(context.Background(), server.InitConfig{DataDir: dir}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// startBenchServer starts a server on dir, stopped with b's cleanup.
func startBenchServer(b *testing.B, dir string, cc server.ClusterConfig) *server.Server {
	b.Helper()
	srv, err := server.New(server.Config{
		DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), ShutdownGrace: 2 * time.Second, Node: cc.NodeID, Cluster: cc,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// startBenchCluster starts three servers as a cluster from copies of one
// initialised directory (docs/cluster.md): node 0 bootstraps, the others
// join it. It returns the nodes and the first directory.
func startBenchCluster(b *testing.B) ([]*server.Server, string) {
	b.Helper()
	first := initBenchDir(b)
	nodes := make([]*server.Server, 3)
	for i := range nodes {
		dir := first
		if i > 0 {
			dir = b.TempDir()
			testenv.CopyDir(b, first, dir)
			// Each node starts its own audit chain.
			if err := os.RemoveAll(filepath.Join(dir, "audit")); err != nil {
				b.Fatal(err)
			}
		}
		cc := server.ClusterConfig{NodeID: fmt.Sprintf("n%d", i), Addr: "127.0.0.1:0", Bootstrap: i == 0}
		if i > 0 {
			cc.Join = nodes[0].ClusterAddr()
		}
		nodes[i] = startBenchServer(b, dir, cc)
	}
	return nodes, first
}
