package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/sim/tape"
)

// libraryKeyID extracts the key identifier and the object from a "sim
// library write" summary line.
var libraryKeyID = regexp.MustCompile(`key identifier ([0-9A-F]+) \(object (\S+)\)`)

// usageRow is the part of a "usage list -o json" record the tests check.
type usageRow struct {
	Protocol  string `json:"protocol"`
	Operation string `json:"operation"`
	Outcome   string `json:"outcome"`
	Volser    string `json:"volser"`
	KeyID     string `json:"key_id"`
	DeviceID  string `json:"device_id"`
}

// issueKMIPClientCert issues a certificate of role client: a KMIP client
// that is a device, not an administrator or operator.
func issueKMIPClientCert(t *testing.T, dataDir, name string) simCreds {
	t.Helper()
	out := t.TempDir()
	if _, stderr, code := run(t, "cert", "issue", "--data-dir", dataDir, "--name", name, "--out", out, "--role", "client"); code != 0 {
		t.Fatalf("cert issue: %s", stderr)
	}
	return simCreds{ca: pki.PathsFor(dataDir).CACert, cert: filepath.Join(out, name+".pem"), key: filepath.Join(out, name+"-key.pem")}
}

func TestSimLibraryEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	env := adminEnv(srv, dataDir)
	lib := issueKMIPClientCert(t, dataDir, "library-1")
	mustRun(t, env, "device", "add", "--family", "GENERIC", "--serial", "LIB0000001", "--cert", lib.cert)
	stranger := issueKMIPClientCert(t, dataDir, "stranger")

	work := t.TempDir()
	in, data, marker := plaintextFile(t, work)
	outDir := t.TempDir()
	image := filepath.Join(outDir, "tape.img")
	down := "127.0.0.1:1" // nothing listens there: the library fails over
	kmipAddr := srv.addrs["kmip"]

	stdout := mustRun(t, nil, append([]string{"sim", "library", "write", "--volser", "LIB001", "--barcode", "LIB001L8",
		"--in", in, "--out", image}, lib.args(down, kmipAddr)...)...)
	t.Logf("write: %s", strings.TrimSpace(stdout))
	m := libraryKeyID.FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "LIB001") {
		t.Fatalf("write summary %q, want the volser, a key identifier and an object", stdout)
	}
	keyID, object := m[1], m[2]
	img, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(img, marker) {
		t.Fatal("the plaintext appears in the tape image")
	}
	h, err := tape.ReadHeader(bytes.NewReader(img))
	if err != nil || h.Volser != "LIB001" || h.Key.KeyID != "LIBRARY-LTO:"+keyID {
		t.Fatalf("image header %+v, %v; want volser LIB001 and key identifier LIBRARY-LTO:%s", h, err, keyID)
	}

	restored := filepath.Join(outDir, "restored.bin")
	stdout = mustRun(t, nil, append([]string{"sim", "library", "read", "--in", image, "--out", restored},
		lib.args(down, kmipAddr)...)...)
	if !strings.Contains(stdout, "LIB001") || !strings.Contains(stdout, keyID) {
		t.Fatalf("read summary %q, want the volser and the key identifier", stdout)
	}
	got, err := os.ReadFile(restored)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored file differs from the original (%d bytes, %v)", len(got), err)
	}

	var rows []usageRow
	decodeJSON(t, mustRun(t, env, "usage", "list", "--volser", "LIB001", "-o", "json"), &rows)
	var ops []string
	for _, r := range rows {
		if r.Protocol != "kmip" || r.KeyID != object || r.Volser != "LIB001" || r.Outcome != "ok" || r.DeviceID == "" {
			t.Fatalf("usage record %+v, want the library's KMIP use of object %s", r, object)
		}
		ops = append(ops, r.Operation)
	}
	if strings.Join(ops, ",") != "Create,Get,Get" {
		t.Fatalf("usage for LIB001: %q, want Create, Get (write) and Get (read)", ops)
	}

	denyDir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"client not in the device table", append([]string{"sim", "library", "read", "--in", image, "--out", filepath.Join(denyDir, "out.bin")},
			stranger.args(kmipAddr)...), "AuthenticationNotSuccessful"},
		{"no server answers", append([]string{"sim", "library", "read", "--in", image, "--out", filepath.Join(denyDir, "out.bin")},
			lib.args(down)...), "no server answered"},
		{"drive read of a library volume", append([]string{"sim", "tape", "read", "--drive", "LTO01", "--in", image, "--out", filepath.Join(denyDir, "out.bin")},
			lib.args(srv.addrs["device"])...), "sim library read"},
		{"bad volser", append([]string{"sim", "library", "write", "--volser", "lib-1", "--in", in, "--out", filepath.Join(denyDir, "x.img")},
			lib.args(kmipAddr)...), "--volser"},
		{"barcode of another volume", append([]string{"sim", "library", "write", "--volser", "LIB002", "--barcode", "LIB003L8", "--in", in,
			"--out", filepath.Join(denyDir, "x.img")}, lib.args(kmipAddr)...), "--barcode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, stderr, tc.want)
			}
			t.Logf("%s", strings.TrimSpace(stderr))
			onlyFiles(t, denyDir)
		})
	}
}
