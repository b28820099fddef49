package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/testenv"
)

// startClusterServe runs "keywarden serve" as a cluster node and waits for
// "keywarden ready", collecting the four listener lines.
func startClusterServe(t *testing.T, dataDir string, extra ...string) *serveProc {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--log-level", "warn",
		"--kmip-addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--cluster-addr", "127.0.0.1:0"}, extra...)
	p, lines := launchServe(t, args)
	timeout := time.After(40 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before ready; stderr:\n%s", p.stderr.String())
			}
			if line == "keywarden ready" {
				if p.addrs["cluster"] == "" {
					t.Fatalf("no cluster listener line before ready: %v", p.addrs)
				}
				go func() {
					for range lines {
					}
				}()
				return p
			}
			name, addr, ok := strings.Cut(line, " listening on ")
			if !ok || strings.HasSuffix(addr, ":0") {
				t.Fatalf("unexpected stdout line %q", line)
			}
			p.addrs[name] = addr
		case <-timeout:
			t.Fatalf("serve not ready after 40s; stderr:\n%s", p.stderr.String())
		}
	}
}

func TestClusterCommands(t *testing.T) {
	first := t.TempDir()
	mustRun(t, nil, "init", "--data-dir", first)
	second := t.TempDir()
	testenv.CopyDir(t, first, second)

	n1 := startClusterServe(t, first, "--node-id", "n1", "--bootstrap")
	n2 := startClusterServe(t, second, "--node-id", "n2", "--join", n1.addrs["cluster"])
	env := adminEnv(n2, first)

	var st client.ClusterStatus
	decodeJSON(t, mustRun(t, env, "cluster", "status", "-o", "json"), &st)
	if st.NodeID != "n2" || st.LeaderID != "n1" || len(st.Nodes) != 2 {
		t.Fatalf("status = %+v", st)
	}
	for _, n := range st.Nodes {
		if !n.Reachable {
			t.Errorf("node %s unreachable: %s", n.ID, n.Error)
		}
	}
	table := mustRun(t, env, "cluster", "status")
	for _, want := range []string{"leader", "n1", "n2", "Leader *", "Follower"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"leave an unknown node", []string{"cluster", "leave", "--node-id", "nobody"}, "not a member"},
		{"join without an address", []string{"cluster", "join", "--node-id", "n3"}, "node-addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, env, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", code, stderr, tc.want)
			}
		})
	}

	// n2 leaves through its own admin API (forwarded to the leader).
	decodeJSON(t, mustRun(t, env, "cluster", "leave", "--node-id", "n2", "-o", "json"), &st)
	env1 := adminEnv(n1, first)
	decodeJSON(t, mustRun(t, env1, "cluster", "status", "-o", "json"), &st)
	if len(st.Nodes) != 1 || st.Nodes[0].ID != "n1" {
		t.Errorf("after leave: %+v", st.Nodes)
	}
	for _, p := range []*serveProc{n2, n1} {
		if code := p.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
			t.Errorf("serve exit %d after SIGTERM", code)
		}
	}
}

func TestClusterStatusOnSingleServer(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, dir)
	_, stderr, code := runEnv(t, adminEnv(srv, dir), "cluster", "status")
	if code == 0 || !strings.Contains(stderr, "not a cluster node") {
		t.Errorf("exit %d, stderr %q; want a failure saying it is not a cluster node", code, stderr)
	}
}
