package cluster

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceAddr: a node dials its peers from Config.SourceAddr; a value
// that is not an IP address is refused at Open. (That connections leave
// from it is checked end to end by the partition test in internal/e2e,
// whose proxies tell the nodes apart by source address.)
func TestSourceAddr(t *testing.T) {
	p := newTestPKI(t)
	tests := []struct {
		name, source, wantErr string
	}{
		{"host name", "localhost", "not an IP address"},
		{"with a port", "127.0.0.1:7000", "not an IP address"},
		{"loopback", "127.0.0.1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Config{
				NodeID: "n0", BindAddr: "127.0.0.1:0", SourceAddr: tc.source, DataDir: dir,
				StorePath: filepath.Join(dir, "keywarden.db"), Certificate: p.node, CA: p.pool,
				Bootstrap: true, Logger: testLogger(),
			})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("open with source %q succeeded", tc.source)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q; want %q", err, tc.wantErr)
			}
		})
	}
}
