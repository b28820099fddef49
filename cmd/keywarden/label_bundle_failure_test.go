package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/bundle"
	"github.com/keywarden/keywarden/internal/bundle/bundletest"
)

// TestLabelImportFailureCommand imports a bundle whose second label's key
// does not match its certificate: the command fails, lists the first
// label as undone and the second as failed, and the first label is gone.
func TestLabelImportFailureCommand(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "srv")
	env := adminEnv(startServe(t, dir), dir)

	var ks []*rsa.PrivateKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	c := &bundle.Contents{Format: bundle.ContentsFormat, Created: time.Now(), KeyGroups: []bundle.KeyGroup{},
		Labels: []bundle.Label{bundletest.Label(t, "FIRST", ks[0], ks[0]), bundletest.Label(t, "BROKEN", ks[1], ks[2])}}
	pass := filepath.Join(tmp, "pass")
	if err := os.WriteFile(pass, []byte("bundle passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := bundle.SealPassphrase(c, []byte("bundle passphrase"), backup.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(tmp, "broken.kwx")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}

	_, stderr, code := runEnv(t, env, "label", "import", "--in", in, "--passphrase-file", pass)
	if code == 0 {
		t.Fatal("the import of a broken bundle succeeded")
	}
	for _, want := range []string{"Import failed and undone (HTTP 400)", `label "BROKEN" failed`, "does not match",
		"RESULT", "FIRST", "undone", "BROKEN", "failed", "holds what it held before", "nothing was imported"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, _, code := runEnv(t, env, "label", "show", "FIRST"); code == 0 {
		t.Error("label FIRST is still there after the failed import")
	}

	stdout, _, code := runEnv(t, env, "label", "import", "--in", in, "--passphrase-file", pass, "-o", "json")
	var doc struct {
		Type   string               `json:"type"`
		Failed client.BundleWrite   `json:"failed"`
		Undone []client.BundleWrite `json:"undone"`
		Left   []client.BundleWrite `json:"left"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code == 0 {
		t.Fatalf("-o json: exit %d, %v:\n%s", code, err, stdout)
	}
	if doc.Type != client.ProblemImportUndone || doc.Failed.Name != "BROKEN" || len(doc.Undone) != 1 || doc.Undone[0].Name != "FIRST" || len(doc.Left) != 0 {
		t.Fatalf("-o json: %+v", doc)
	}
}
