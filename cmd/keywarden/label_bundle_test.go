package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/pki"
)

// TestLabelBundleCommands runs the seed's backup key server as two
// commands: label export to the backup server's certificate, label import
// on it; then a conflict, refused and renamed.
func TestLabelBundleCommands(t *testing.T) {
	tmp := t.TempDir()
	dirA, dirB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	srvA, srvB := startServe(t, dirA), startServe(t, dirB)
	envA, envB := adminEnv(srvA, dirA), adminEnv(srvB, dirB)
	for _, name := range []string{"L1", "L2"} {
		mustRun(t, envA, "label", "create", name)
	}
	mustRun(t, envB, "label", "create", "L2") // same name, another key

	bundle := filepath.Join(tmp, "bundle.kwx")
	mustRun(t, envA, "label", "export", "--labels", "L1", "--recipient", pki.PathsFor(dirB).ServerCert, "--out", bundle)
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v %v", fi, err)
	}
	if out := mustRun(t, envB, "label", "import", "--in", bundle); !strings.Contains(out, "imported") {
		t.Fatalf("import printed:\n%s", out)
	}
	if out := mustRun(t, envB, "label", "import", "--in", bundle); !strings.Contains(out, "identical") {
		t.Fatalf("second import printed:\n%s", out)
	}
	mustRun(t, envB, "label", "show", "L1")

	pass := filepath.Join(tmp, "pass")
	if err := os.WriteFile(pass, []byte("bundle passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conflicting := filepath.Join(tmp, "l2.kwx")
	mustRun(t, envA, "label", "export", "--labels", "L2", "--passphrase-file", pass, "--out", conflicting)
	_, stderr, code := runEnv(t, envB, "label", "import", "--in", conflicting, "--passphrase-file", pass)
	if code == 0 || !strings.Contains(stderr, "conflict") || !strings.Contains(stderr, "L2") {
		t.Fatalf("conflicting import: exit %d, stderr:\n%s", code, stderr)
	}
	if out := mustRun(t, envB, "label", "import", "--in", conflicting, "--passphrase-file", pass, "--rename"); !strings.Contains(out, "L2_IMPORTED") {
		t.Fatalf("renamed import printed:\n%s", out)
	}
	mustRun(t, envB, "label", "show", "L2_IMPORTED")
}
