package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/config"
)

// TestFallbackAuditDir: an ISKLM audit directory that cannot exist on this
// host sends the trail to DATA_DIR/audit with a warning; one that can is
// kept; a native file's directory is never replaced.
func TestFallbackAuditDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	impossible := filepath.Join(blocker, "KLMLOGS", "logs") // below a regular file: even root cannot create it
	possible := filepath.Join(dir, "logs")
	tests := []struct {
		name, file, content string
		wantDir             string
		wantWarn            bool
	}{
		{"properties, impossible dir", "a.properties", "Audit.handler.file.directory=" + impossible + "\n", "", true},
		{"properties, possible dir", "b.properties", "Audit.handler.file.directory=" + possible + "\n", possible, false},
		{"native, impossible dir", "c.conf", "version = 1\n[audit]\ndir = \"" + impossible + "\"\n", impossible, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := serverConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			sc.DataDir = filepath.Join(dir, "data")
			w := fallbackAuditDir(f, &sc)
			if (w != "") != tc.wantWarn || sc.AuditTrail.Dir != tc.wantDir {
				t.Fatalf("warning %q, dir %q; want warning %v, dir %q", w, sc.AuditTrail.Dir, tc.wantWarn, tc.wantDir)
			}
			if tc.wantWarn && !strings.Contains(w, filepath.Join(sc.DataDir, "audit")) {
				t.Fatalf("warning %q does not say where the trail goes", w)
			}
		})
	}
}
