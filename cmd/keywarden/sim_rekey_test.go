package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	binenc "encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/client/device"
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

// readTapeHeader returns the header of the image at path.
func readTapeHeader(t *testing.T, path string) tape.Header {
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
	return h
}

// dataRegion returns the bytes of the image at path after its header: the
// block records.
func dataRegion(t *testing.T, path string) []byte {
	t.Helper()
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(img)
	if _, err := tape.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	return img[len(img)-r.Len():]
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

	t.Run("format 1 image is encrypted again into format 2", func(t *testing.T) {
		dir := t.TempDir()
		v1, v1rekeyed := filepath.Join(dir, "v1.img"), filepath.Join(dir, "v1-rekeyed.img")
		h := readTapeHeader(t, image)
		writeV1Image(t, v1, h.Volser, h.Key.EEDKs, driveDataKey(t, creds, device, serial, h), data)
		if got := readTapeHeader(t, v1); got.Version != tape.FormatVersion1 {
			t.Fatalf("hand-made image has version %d", got.Version)
		}
		// The format 1 image reads back as written.
		mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", v1, "--out", filepath.Join(dir, "v1.bin")},
			creds.args(device)...)...)
		if got, err := os.ReadFile(filepath.Join(dir, "v1.bin")); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("format 1 image read back differs (%d bytes, %v)", len(got), err)
		}
		stdout := mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", v1, "--out", v1rekeyed,
			"--label1", "L30", "--label2", "L31"}, creds.args(device)...)...)
		if !strings.Contains(stdout, "format 1 image") || !strings.Contains(stdout, "encrypted again") {
			t.Fatalf("rekey summary %q, want it to say the format 1 data was encrypted again", stdout)
		}
		nh := readTapeHeader(t, v1rekeyed)
		if nh.Version != tape.FormatVersion || nh.Key.EEDKs[0].LabelOrHash != "L30" || nh.Key.EEDKs[1].LabelOrHash != "L31" || nh.Salt == h.Salt {
			t.Fatalf("rekeyed format 1 image: version %d, labels %q %q", nh.Version, nh.Key.EEDKs[0].LabelOrHash, nh.Key.EEDKs[1].LabelOrHash)
		}
		mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", v1rekeyed, "--out", filepath.Join(dir, "v1r.bin")},
			creds.args(device)...)...)
		if got, err := os.ReadFile(filepath.Join(dir, "v1r.bin")); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("rekeyed format 1 image read back differs (%d bytes, %v)", len(got), err)
		}
	})

	t.Run("damaged image is refused before the server records a rekey", func(t *testing.T) {
		img, err := os.ReadFile(image)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cut := filepath.Join(dir, "cut.img")
		if err := os.WriteFile(cut, img[:len(img)-10], 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := run(t, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", cut, "--out", cut,
			"--label1", "L30", "--label2", "L31"}, creds.args(down)...)...)
		if code != 1 || !strings.Contains(stderr, "truncated") {
			t.Fatalf("rekey of a truncated image: exit %d, stderr %q", code, stderr)
		}
		if got, err := os.ReadFile(cut); err != nil || !bytes.Equal(got, img[:len(img)-10]) {
			t.Fatalf("the truncated image was changed (%v)", err)
		}
	})

	stdout := mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", image, "--out", rekeyed,
		"--label1", "L30", "--label2", "L31"}, creds.args(down, device)...)...)
	t.Logf("rekey: %s", strings.TrimSpace(stdout))
	if !strings.Contains(stdout, "RKY001") || !strings.Contains(stdout, "L:L30") || !strings.Contains(stdout, "L:L31") ||
		!strings.Contains(stdout, "copied unchanged") {
		t.Fatalf("rekey summary %q, want the volser, the new labels and the blocks copied unchanged", stdout)
	}
	if !bytes.Equal(dataRegion(t, rekeyed), dataRegion(t, image)) {
		t.Fatal("rekey changed the data blocks")
	}
	if readTapeHeader(t, rekeyed).Salt != readTapeHeader(t, image).Salt {
		t.Fatal("rekey changed the salt")
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

	// Rekey onto itself, back to L30/L31 with hash encoding: the header
	// grows (32-byte hashes instead of 3-byte labels), so a new image
	// replaces the old one, with the same blocks.
	blocks := dataRegion(t, rekeyed)
	stdout = mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", rekeyed, "--out", rekeyed,
		"--label1", "L31", "--label2", "L30", "--encoding", "H"}, creds.args(device)...)...)
	hashes := imageLabels(t, rekeyed)
	if len(hashes[0]) != 32 || len(hashes[1]) != 32 || hashes[0] == hashes[1] {
		t.Fatalf("rekey with encoding H: key references %q, want two 32-byte hashes", hashes)
	}
	if !strings.Contains(stdout, "copied unchanged") || !bytes.Equal(dataRegion(t, rekeyed), blocks) {
		t.Fatalf("rekey onto itself with a longer header (%q): data blocks changed", stdout)
	}

	// Again, swapping the labels: the header keeps its length, so only the
	// EEDKs are rewritten, in the same file.
	before, err := os.Stat(rekeyed)
	if err != nil {
		t.Fatal(err)
	}
	stdout = mustRun(t, nil, append([]string{"sim", "tape", "rekey", "--drive", serial, "--in", rekeyed, "--out", rekeyed,
		"--label1", "L30", "--label2", "L31", "--encoding", "H"}, creds.args(device)...)...)
	after, err := os.Stat(rekeyed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "in place") || !os.SameFile(before, after) || after.Size() != before.Size() {
		t.Fatalf("same-length rekey (%q): the file was replaced or resized", stdout)
	}
	if got := imageLabels(t, rekeyed); got != [2]string{hashes[1], hashes[0]} {
		t.Fatalf("in-place rekey: key references %q, want %q swapped", got, hashes)
	}
	if !bytes.Equal(dataRegion(t, rekeyed), blocks) {
		t.Fatal("in-place rekey changed the data blocks")
	}
	again := filepath.Join(outDir, "again.bin")
	mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", rekeyed, "--out", again}, creds.args(device)...)...)
	if got, err := os.ReadFile(again); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file read after the in-place rekey differs (%d bytes, %v)", len(got), err)
	}
	onlyFiles(t, outDir, "again.bin", "rekeyed.img", "restored.bin", "tape.img")
}

// driveDataKey asks keywarden, as the drive, for the data key of a 3592
// volume (ReadKey with its EEDKs).
func driveDataKey(t *testing.T, creds simCreds, server, serial string, h tape.Header) []byte {
	t.Helper()
	conf, err := pki.ClientTLS(creds.ca, creds.cert, creds.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := device.New(device.Config{Servers: []string{server}, TLS: conf, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := c.ReadKey(ctx, serial, h.Volser, codecEEDK(h.Key.EEDKs[0]), codecEEDK(h.Key.EEDKs[1]))
	if err != nil {
		t.Fatalf("read the data key: %v", err)
	}
	return key
}

// writeV1Image writes a format 1 image as the format 1 writer did, sealed
// here from the format's description (docs/tape-image.md): volume key
// HKDF-SHA256(data key, salt, "keywarden tape v1" || volser), block size
// MinBlockSize, and block 0's additional data ending with the whole header,
// EEDKs included.
func writeV1Image(t *testing.T, path, volser string, eedks [2]tape.EEDK, dataKey, data []byte) {
	t.Helper()
	h := tape.Header{Version: tape.FormatVersion1, Volser: volser, BlockSize: tape.MinBlockSize, Key: tape.KeyRef{EEDKs: eedks}}
	if _, err := rand.Read(h.Salt[:]); err != nil {
		t.Fatal(err)
	}
	hdr, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	vk, err := hkdf.Key(sha256.New, dataKey, h.Salt[:], "keywarden tape v1"+volser, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(vk)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Clone(hdr)
	for i := uint64(0); ; i++ {
		n := min(len(data), h.BlockSize)
		last := len(data) <= h.BlockSize // a full block is the last only if nothing follows
		chunk := data[:n]
		data = data[n:]
		nonce := binenc.BigEndian.AppendUint64(make([]byte, 4), i)
		ad := append([]byte{byte(len(volser))}, volser...)
		ad = binenc.BigEndian.AppendUint64(ad, i)
		flag := byte(0)
		if last {
			flag = 1
		}
		ad = append(ad, flag)
		if i == 0 {
			ad = append(ad, hdr...)
		}
		ct := aead.Seal(nil, nonce, chunk, ad)
		img = append(img, flag)
		img = binenc.BigEndian.AppendUint32(img, uint32(len(ct)))
		img = append(img, ct...)
		if last {
			break
		}
	}
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
}
