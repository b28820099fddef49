package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
)

// simCreds is a drive's client certificate issued by dataDir's CA.
type simCreds struct{ ca, cert, key string }

func issueDriveCert(t *testing.T, dataDir, name string) simCreds {
	t.Helper()
	out := t.TempDir()
	if _, stderr, code := run(t, "cert", "issue", "--data-dir", dataDir, "--name", name, "--out", out); code != 0 {
		t.Fatalf("cert issue: %s", stderr)
	}
	return simCreds{ca: pki.PathsFor(dataDir).CACert, cert: filepath.Join(out, name+".pem"), key: filepath.Join(out, name+"-key.pem")}
}

func (c simCreds) args(servers ...string) []string {
	a := []string{"--ca", c.ca, "--cert", c.cert, "--key", c.key, "--timeout", "10s"}
	for _, s := range servers {
		a = append(a, "--server", s)
	}
	return a
}

// plaintextFile writes a file of several tape blocks holding a marker that
// must never appear in an image.
func plaintextFile(t *testing.T, dir string) (path string, data []byte, marker []byte) {
	t.Helper()
	marker = []byte("KEYWARDEN-PLAINTEXT-MARKER-")
	random := make([]byte, 150_000)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	data = append(bytes.Repeat(marker, 2000), random...)
	path = filepath.Join(dir, "plain.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data, marker
}

// onlyFiles fails unless dir holds exactly the named files (no partial
// output left behind).
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}

func TestSimTapeRefusals(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := run(t, "init", "--data-dir", dataDir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	creds := issueDriveCert(t, dataDir, "drive-1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	_ = ln.Close()
	work := t.TempDir()
	in, _, _ := plaintextFile(t, work)
	notImage := filepath.Join(work, "not-an-image")
	if err := os.WriteFile(notImage, bytes.Repeat([]byte("not a tape image "), 10), 0o600); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out := filepath.Join(outDir, "result")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad volser", append([]string{"sim", "tape", "write", "--drive", "D1", "--volser", "vol-1", "--in", in, "--out", out}, creds.args(down)...), "--volser"},
		{"bad encoding", append([]string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", in, "--out", out, "--encoding", "X"}, creds.args(down)...), "--encoding"},
		{"missing input", append([]string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", filepath.Join(work, "none"), "--out", out}, creds.args(down)...), "no such file"},
		{"no server answers", append([]string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", in, "--out", out}, creds.args(down, down)...), "no server answered"},
		{"missing server", []string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", in, "--out", out, "--ca", creds.ca, "--cert", creds.cert, "--key", creds.key}, "server"},
		{"read of a file that is no image", append([]string{"sim", "tape", "read", "--drive", "D1", "--in", notImage, "--out", out}, creds.args(down)...), "malformed"},
		{"bad credentials", []string{"sim", "tape", "write", "--drive", "D1", "--volser", "V1", "--in", in, "--out", out, "--server", down, "--ca", creds.key, "--cert", creds.cert, "--key", creds.key}, "credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != 1 || !strings.HasPrefix(stderr, "keywarden: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, stderr, tc.want)
			}
			onlyFiles(t, outDir)
		})
	}
}

// deviceProtocolServed reports whether the device listener at addr speaks
// the device protocol (any protocol answer, even a refusal) rather than
// the earlier PING/PONG placeholder, which hangs up on a protocol frame.
func deviceProtocolServed(t *testing.T, addr, dataDir string) bool {
	t.Helper()
	p := pki.PathsFor(dataDir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := device.New(device.Config{Servers: []string{addr}, TLS: conf, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.ReadKey(ctx, "PROBE", "PROBE",
		codec.EEDK{Encoding: codec.EncodingLabel, KeyRef: []byte("probe"), Data: []byte{1}},
		codec.EEDK{Encoding: codec.EncodingLabel, KeyRef: []byte("probe"), Data: []byte{1}})
	var de *device.Error
	return err == nil || errors.As(err, &de)
}

func TestSimTapeEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	if !deviceProtocolServed(t, srv.addrs["device"], dataDir) {
		t.Fatal("the device listener does not answer the device protocol")
	}
	env := adminEnv(srv, dataDir)
	const serial = "0000078A1234"
	mustRun(t, env, "label", "create", "L20")
	mustRun(t, env, "label", "create", "L21")
	creds := issueDriveCert(t, dataDir, "drive-3592")
	mustRun(t, env, "group", "create", "tapes", "--family", "3592", "--alias1", "L20", "--alias2", "L21")
	mustRun(t, env, "device", "add", "--family", "3592", "--serial", serial, "--group", "tapes",
		"--alias1", "L20", "--alias2", "L21", "--cert", creds.cert)

	work := t.TempDir()
	in, data, marker := plaintextFile(t, work)
	down := "127.0.0.1:1" // nothing listens there: the drive fails over
	for _, tc := range []struct{ name, encoding, volser, want string }{
		{"encoding L", "L", "VOL001", "L:L20"},
		{"encoding H", "H", "VOL002", "H:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			image := filepath.Join(outDir, "tape.img")
			stdout := mustRun(t, nil, append([]string{"sim", "tape", "write", "--drive", serial, "--volser", tc.volser,
				"--in", in, "--out", image, "--encoding", tc.encoding}, creds.args(down, srv.addrs["device"])...)...)
			if !strings.Contains(stdout, tc.volser) || !strings.Contains(stdout, tc.want) {
				t.Fatalf("write summary %q, want the volser and %q", stdout, tc.want)
			}
			img, err := os.ReadFile(image)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(img, marker) {
				t.Fatal("the plaintext appears in the tape image")
			}
			restored := filepath.Join(outDir, "restored.bin")
			mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", serial, "--in", image, "--out", restored},
				creds.args(srv.addrs["device"])...)...)
			got, err := os.ReadFile(restored)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("restored file differs from the original (%d bytes, %v)", len(got), err)
			}

			flipped := filepath.Join(t.TempDir(), "flipped.img")
			img[len(img)/2] ^= 0x01
			if err := os.WriteFile(flipped, img, 0o600); err != nil {
				t.Fatal(err)
			}
			denyDir := t.TempDir()
			_, stderr, code := run(t, append([]string{"sim", "tape", "read", "--drive", serial, "--in", flipped,
				"--out", filepath.Join(denyDir, "out.bin")}, creds.args(srv.addrs["device"])...)...)
			if code != 1 || !strings.Contains(stderr, "authentication") {
				t.Fatalf("flipped image: exit %d, stderr %q", code, stderr)
			}
			onlyFiles(t, denyDir)

			_, stderr, code = run(t, append([]string{"sim", "tape", "read", "--drive", "OTHER01", "--in", image,
				"--out", filepath.Join(denyDir, "out.bin")}, creds.args(srv.addrs["device"])...)...)
			if code != 1 || !strings.Contains(stderr, "refused the request") {
				t.Fatalf("read as another drive serial: exit %d, stderr %q", code, stderr)
			}
			t.Logf("read as another drive serial: %s", strings.TrimSpace(stderr))
			onlyFiles(t, denyDir)
		})
	}
}
