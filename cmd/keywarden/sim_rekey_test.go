package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/sim/tape"
)

// imageLabels returns the key references of a 3592 image's two EEDKs.
func imageLabels(t *testing.T, path string) [2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := tape.ReadHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Key.IsEEDK() {
		t.Fatalf("%s carries no EEDKs", path)
	}
	return [2]string{h.Key.EEDKs[0].LabelOrHash, h.Key.EEDKs[1].LabelOrHash}
}

// destroyLabelKeys revokes and destroys the private keys of labels over
// KMIP as the administrator, so that nothing can unwrap their EEDKs.
func destroyLabelKeys(t *testing.T, srv *serveProc, dataDir string, env []string, labels ...string) {
	t.Helper()
	p := pki.PathsFor(dataDir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kmipclient.DialContext(ctx, srv.addrs["kmip"],
		kmipclient.WithRootCAFile(p.CACert), kmipclient.WithClientCertFiles(p.AdminCert, p.AdminKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, label := range labels {
		var l struct {
			PrivateKeyID string `json:"private_key_id"`
		}
		decodeJSON(t, mustRun(t, env, "label", "show", label, "-o", "json"), &l)
		if l.PrivateKeyID == "" {
			t.Fatalf("label %s has no private key", label)
		}
		if _, err := c.Revoke(l.PrivateKeyID).WithRevocationReasonCode(kmip.RevocationReasonCodeCessationOfOperation).Exec(); err != nil {
			t.Fatalf("revoke %s: %v", label, err)
		}
		if _, err := c.Destroy(l.PrivateKeyID).Exec(); err != nil {
			t.Fatalf("destroy %s: %v", label, err)
		}
	}
}

func TestSimTapeRekeyEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	env := adminEnv(srv, dataDir)
	const serial = "0000078A5678"
	for _, l := range []string{"L20", "L21", "L30", "L31"} {
		mustRun(t, env, "label", "create", l)
	}
	creds := issueDriveCert(t, dataDir, "drive-rekey")
	mustRun(t, env, "group", "create", "tapes", "--family", "3592", "--alias1", "L20", "--alias2", "L21")
	mustRun(t, env, "device", "add", "--family", "3592", "--serial", serial, "--group", "tapes", "--cert", creds.cert)

	work := t.TempDir()
	in, data, marker := plaintextFile(t, work)
	down := "127.0.0.1:1"
	device := srv.addrs["device"]
	outDir := t.TempDir()
	image := filepath.Join(outDir, "tape.img")
	rekeyed := filepath.Join(outDir, "rekeyed.img")
	mustRun(t, nil, append([]string{"sim", "tape", "write", "--drive", serial, "--volser", "RKY001", "--in", in, "--out", image},
		creds.args(device)...)...)
	if got := imageLabels(t, image); got != [2]string{"L20", "L21"} {
		t.Fatalf("written with labels %q, want L20, L21", got)
	}

	t.Run("refusals leave no image", func(t *testing.T) {
		lto := filepath.Join(t.TempDir(), "lto.img")
		// A header with a key identifier: a hand-made LTO image.
		f, err := os.Create(lto)
		if err != nil {
			t.Fatal(err)
		}
		tw, err := tape.NewWriter(f, tape.Header{Volser: "LTO001", Key: tape.KeyRef{KeyID: "des01"}}, bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("data")); err != nil || tw.Close() != nil || f.Close() != nil {
			t.Fatalf("write LTO image: %v", err)
		}
		denyDir := t.TempDir()
		out := filepath.Join(denyDir, "out.img")
		base := []string{"sim", "tape", "rekey", "--drive", serial, "--out", out}
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"unknown new label", append(append(base, "--in", image, "--label1", "NOPE", "--label2", "L31"), creds.args(device)...), "refused the request"},
			{"LTO image", append(append(base, "--in", lto, "--label1", "L30", "--label2", "L31"), creds.args(device)...), "only 3592 volumes"},
			{"bad encoding", append(append(base, "--in", image, "--label1", "L30", "--label2", "L31", "--encoding", "X"), creds.args(device)...), "--encoding"},
			{"missing label", append(append(base, "--in", image, "--label1", "L30"), creds.args(device)...), "label2"},
			{"another drive", append([]string{"sim", "tape", "rekey", "--drive", "OTHER01", "--out", out, "--in", image, "--label1", "L30", "--label2", "L31"},
				creds.args(device)...), "refused the request"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, stderr, code := run(t, tc.args...)
				if code != 1 || !strings.Contains(stderr, tc.want) {
					t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, stderr, tc.want)
				}
				onlyFiles(t, denyDir)
			})
		}
	})

	stdout := mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", image, "--out", rekeyed,
		"--label1", "L30", "--label2", "L31"}, creds.args(down, device)...)...)
	t.Logf("rekey: %s", strings.TrimSpace(stdout))
	if !strings.Contains(stdout, "RKY001") || !strings.Contains(stdout, "L:L30") || !strings.Contains(stdout, "L:L31") {
		t.Fatalf("rekey summary %q, want the volser and the new labels", stdout)
	}
	if got := imageLabels(t, rekeyed); got != [2]string{"L30", "L31"} {
		t.Fatalf("rekeyed image names labels %q, want L30, L31 only", got)
	}
	img, err := os.ReadFile(rekeyed)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(img, marker) {
		t.Fatal("the plaintext appears in the rekeyed image")
	}

	var rows []struct {
		Operation string `json:"operation"`
		Alias1    string `json:"alias1"`
		Alias2    string `json:"alias2"`
	}
	decodeJSON(t, mustRun(t, env, "usage", "list", "--volser", "RKY001", "-o", "json"), &rows)
	rekeyRecorded := false
	for _, r := range rows {
		rekeyRecorded = rekeyRecorded || (r.Operation == "rekey" && r.Alias1 == "L30" && r.Alias2 == "L31")
	}
	if !rekeyRecorded {
		t.Fatalf("usage for RKY001 %+v: no rekey to L30, L31", rows)
	}

	// Once the old labels' private keys are gone, only the rekeyed image
	// can be read: its EEDKs name the new labels alone.
	destroyLabelKeys(t, srv, dataDir, env, "L20", "L21")
	denyDir := t.TempDir()
	_, stderr, code := run(t, append([]string{"sim", "tape", "read", "--drive", serial, "--in", image,
		"--out", filepath.Join(denyDir, "old.bin")}, creds.args(device)...)...)
	if code != 1 || !strings.Contains(stderr, "refused the request") {
		t.Fatalf("read of the original image after destroying L20, L21: exit %d, stderr %q", code, stderr)
	}
	onlyFiles(t, denyDir)

	restored := filepath.Join(outDir, "restored.bin")
	mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", rekeyed, "--out", restored},
		creds.args(down, device)...)...)
	got, err := os.ReadFile(restored)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored file differs from the original (%d bytes, %v)", len(got), err)
	}

	// Rekey in place, back to L30/L31 with hash encoding.
	mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", rekeyed, "--out", rekeyed,
		"--label1", "L31", "--label2", "L30", "--encoding", "H"}, creds.args(device)...)...)
	if got := imageLabels(t, rekeyed); len(got[0]) != 32 || len(got[1]) != 32 || got[0] == got[1] {
		t.Fatalf("in-place rekey with encoding H: key references %q, want two 32-byte hashes", got)
	}
	again := filepath.Join(outDir, "again.bin")
	mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", rekeyed, "--out", again}, creds.args(device)...)...)
	if got, err := os.ReadFile(again); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file read after the in-place rekey differs (%d bytes, %v)", len(got), err)
	}
	onlyFiles(t, outDir, "again.bin", "rekeyed.img", "restored.bin", "tape.img")
}
