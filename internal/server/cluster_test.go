package server

import (
	"strings"
	"testing"
)

func TestCheckClusterInit(t *testing.T) {
	tests := []struct {
		name        string
		cc          ClusterConfig
		initialised bool
		wantErr     bool
	}{
		{"single server, new directory", ClusterConfig{}, false, false},
		{"bootstrap node, new directory", ClusterConfig{Addr: "127.0.0.1:0", NodeID: "n1", Bootstrap: true}, false, false},
		{"joining node, new directory", ClusterConfig{Addr: "127.0.0.1:0", NodeID: "n2", Join: "127.0.0.1:1"}, false, true},
		{"node added later, new directory", ClusterConfig{Addr: "127.0.0.1:0", NodeID: "n3"}, false, true},
		{"joining node, copied directory", ClusterConfig{Addr: "127.0.0.1:0", NodeID: "n2", Join: "127.0.0.1:1"}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkClusterInit(tc.cc, tc.initialised)
			if (err != nil) != tc.wantErr {
				t.Fatalf("checkClusterInit = %v; want error %t", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "copy of a member's data directory") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

func TestNewRefusesClusterFlagsWithoutAddress(t *testing.T) {
	tests := []struct {
		name string
		cc   ClusterConfig
	}{
		{"node id alone", ClusterConfig{NodeID: "n1"}},
		{"bootstrap alone", ClusterConfig{Bootstrap: true}},
		{"join alone", ClusterConfig{Join: "127.0.0.1:1"}},
		{"bootstrap and join", ClusterConfig{Addr: "127.0.0.1:0", NodeID: "n1", Bootstrap: true, Join: "127.0.0.1:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(Config{DataDir: t.TempDir(), NoAuditTrail: true, Cluster: tc.cc})
			if err == nil {
				_ = srv.Shutdown(t.Context())
				t.Fatal("New accepted the cluster configuration")
			}
		})
	}
}
