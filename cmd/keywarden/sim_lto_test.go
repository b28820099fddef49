package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ltoKeyID extracts the key identifier from a "sim tape write --lto"
// summary line.
var ltoKeyID = regexp.MustCompile(`key ID (\S+)`)

func TestSimTapeLTOEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	env := adminEnv(srv, dataDir)
	const serial = "LTO0000A1234"
	mustRun(t, env, "keygroup", "create", "LTOKEYS", "--aliases", "des01-03")
	mustRun(t, env, "group", "create", "ltotapes", "--family", "LTO", "--key-group", "LTOKEYS")
	creds := issueDriveCert(t, dataDir, "drive-lto")
	mustRun(t, env, "device", "add", "--family", "LTO", "--serial", serial, "--group", "ltotapes", "--cert", creds.cert)

	work := t.TempDir()
	in, data, marker := plaintextFile(t, work)
	down := "127.0.0.1:1" // nothing listens there: the drive fails over
	var seen []string
	for _, tc := range []struct{ name, volser, alias string }{
		{"round robin first", "LTO001", ""},
		{"round robin second", "LTO002", ""},
		{"by key alias", "LTO003", "des03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			image := filepath.Join(outDir, "tape.img")
			args := []string{"sim", "tape", "write", "--lto", "--drive", serial, "--volser", tc.volser, "--in", in, "--out", image}
			if tc.alias != "" {
				args = append(args, "--key-alias", tc.alias)
			}
			stdout := mustRun(t, nil, append(args, creds.args(down, srv.addrs["device"])...)...)
			m := ltoKeyID.FindStringSubmatch(stdout)
			if m == nil || !strings.Contains(stdout, tc.volser) {
				t.Fatalf("write summary %q, want the volser and a key ID", stdout)
			}
			keyID := m[1]
			t.Logf("write: %s", strings.TrimSpace(stdout))
			if tc.alias != "" && keyID != tc.alias {
				t.Fatalf("write with --key-alias %s used key %s", tc.alias, keyID)
			}
			if !strings.HasPrefix(keyID, "des0") {
				t.Fatalf("key ID %q is not one of the key group's aliases", keyID)
			}
			seen = append(seen, keyID)
			img, err := os.ReadFile(image)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(img, marker) {
				t.Fatal("the plaintext appears in the tape image")
			}
			if !bytes.Contains(img, []byte(keyID)) {
				t.Fatalf("the image does not carry the key identifier %q", keyID)
			}
			restored := filepath.Join(outDir, "restored.bin")
			stdout = mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", image, "--out", restored},
				creds.args(down, srv.addrs["device"])...)...)
			if !strings.Contains(stdout, tc.volser) {
				t.Fatalf("read summary %q, want the volser", stdout)
			}
			got, err := os.ReadFile(restored)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("restored file differs from the original (%d bytes, %v)", len(got), err)
			}

			denyDir := t.TempDir()
			_, stderr, code := run(t, append([]string{"sim", "tape", "read", "--drive", "OTHER01", "--in", image,
				"--out", filepath.Join(denyDir, "out.bin")}, creds.args(srv.addrs["device"])...)...)
			if code != 1 || !strings.Contains(stderr, "refused the request") {
				t.Fatalf("read as another drive serial: exit %d, stderr %q", code, stderr)
			}
			onlyFiles(t, denyDir)
		})
	}
	if len(seen) != 3 {
		t.Fatalf("%d writes succeeded, want 3", len(seen))
	}
	if seen[0] == seen[1] {
		t.Fatalf("two round-robin writes used the same key %s, want different aliases", seen[0])
	}
}

func TestSimTapeLTORefusals(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := run(t, "init", "--data-dir", dataDir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	creds := issueDriveCert(t, dataDir, "drive-lto")
	work := t.TempDir()
	in, _, _ := plaintextFile(t, work)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "tape.img")
	down := "127.0.0.1:1"
	base := []string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", in, "--out", out}
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"lto with a label", []string{"--lto", "--label1", "L1"}, "--lto takes no"},
		{"lto with an encoding", []string{"--lto", "--encoding", "H"}, "--lto takes no"},
		{"key alias without lto", []string{"--key-alias", "des01"}, "--key-alias needs --lto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, base...), tc.extra...), creds.args(down)...)
			_, stderr, code := run(t, args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, stderr, tc.want)
			}
			onlyFiles(t, outDir)
		})
	}
}
