package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
)

// binary is the keywarden binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keywarden-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "keywarden")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build keywarden: %v\n", err)
		return 1
	}
	return m.Run()
}

// run runs the binary to completion and returns stdout, stderr and the
// exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with extra environment variables (KEY=VALUE).
func runEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(testEnviron(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run keywarden %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// testEnviron is the environment without KEYWARDEN_ variables.
func testEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYWARDEN_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProc is a running "keywarden serve".
type serveProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addrs  map[string]string // listener name → address
	exited chan error
}

// launchServe starts the binary with args, killed at the end of the test
// (its stderr logged if the test failed), and returns it with its stdout
// lines; the channel closes when the process exits.
func launchServe(t *testing.T, args []string) (*serveProc, <-chan string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnviron()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}, addrs: map[string]string{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", p.stderr.String())
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.exited <- cmd.Wait()
	}()
	return p, lines
}

// startServe runs "keywarden serve" on 127.0.0.1:0 and waits for
// "keywarden ready", collecting the printed addresses.
func startServe(t *testing.T, dataDir string, extra ...string) *serveProc {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir,
		"--kmip-addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, extra...)
	p, lines := launchServe(t, args)
	timeout := time.After(30 * time.Second)
	var got []string
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before ready; stdout %q; stderr:\n%s", got, p.stderr.String())
			}
			got = append(got, line)
			if line == "keywarden ready" {
				if len(got) != 4 {
					t.Fatalf("stdout before ready = %q, want exactly three listener lines", got)
				}
				for _, name := range []string{"kmip", "device", "admin"} {
					if p.addrs[name] == "" {
						t.Fatalf("no %q listener line in %q", name, got)
					}
				}
				go func() { // drain anything printed later
					for range lines {
					}
				}()
				return p
			}
			name, addr, ok := strings.Cut(line, " listening on ")
			if !ok || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
				t.Fatalf("unexpected stdout line %q", line)
			}
			p.addrs[name] = addr
		case <-timeout:
			t.Fatalf("serve not ready after 30s; stdout %q; stderr:\n%s", got, p.stderr.String())
		}
	}
}

// stop sends sig and returns the exit code, failing if the process takes
// longer than limit.
func (p *serveProc) stop(t *testing.T, sig os.Signal, limit time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(limit):
		t.Fatalf("serve still running %v after %v", limit, sig)
	}
	return -1
}

func health(t *testing.T, addr string, conf *tls.Config) (int, string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/v1/health")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// deviceProbe sends one device-protocol request as conf and returns the
// decoded answer.
func deviceProbe(t *testing.T, addr string, conf *tls.Config) (codec.Message, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := codec.Encode(codec.WriteKeyRequest{RequestID: codec.RequestID{1}, DriveSerial: "000007888422", WWN: "500507630240FBCC", Volser: "WXY662"})
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	raw, err := codec.ReadMessage(conn, 0)
	if err != nil {
		return nil, err
	}
	return codec.Decode(raw)
}

func TestInitCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stdout, stderr, code := run(t, "init", "--data-dir", dir, "--san", "kms.example.test", "--san", "192.0.2.7")
	if code != 0 {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	p := pki.PathsFor(dir)
	for _, f := range []string{p.CACert, p.CAKey, p.ServerCert, p.ServerKey, p.AdminCert, p.AdminKey, filepath.Join(dir, "keywarden.db"), filepath.Join(dir, barrier.MasterKeyFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after init: %v", err)
		}
	}
	if !strings.Contains(stdout, p.AdminCert) || !strings.Contains(stdout, p.AdminKey) || !strings.Contains(stdout, p.CACert) {
		t.Errorf("init output does not name the credentials:\n%s", stdout)
	}
	if fi, err := os.Stat(p.AdminKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key mode: %v %v", fi.Mode(), err)
	}
	server, err := os.ReadFile(p.ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCertPEM(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("kms.example.test"); err != nil {
		t.Errorf("--san DNS name: %v", err)
	}
	if err := cert.VerifyHostname("192.0.2.7"); err != nil {
		t.Errorf("--san IP: %v", err)
	}

	t.Run("second init refused", func(t *testing.T) {
		before, _ := os.ReadFile(p.CACert)
		_, stderr, code := run(t, "init", "--data-dir", dir)
		if code == 0 || !strings.Contains(stderr, "already initialised") {
			t.Fatalf("second init: exit %d, stderr %q", code, stderr)
		}
		after, _ := os.ReadFile(p.CACert)
		if !bytes.Equal(before, after) {
			t.Fatal("second init changed the CA")
		}
	})
	t.Run("bad san refused", func(t *testing.T) {
		_, stderr, code := run(t, "init", "--data-dir", filepath.Join(t.TempDir(), "d"), "--san", "not a name")
		if code == 0 || !strings.Contains(stderr, "not a name") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh") // serve initialises it
	srv := startServe(t, dir)
	p := pki.PathsFor(dir)
	admin, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatalf("serve did not initialise the data directory: %v", err)
	}

	t.Run("admin health over mutual TLS", func(t *testing.T) {
		status, body, err := health(t, srv.addrs["admin"], admin)
		if err != nil || status != http.StatusOK || body != `{"status":"ok"}` {
			t.Fatalf("health: %d %q %v", status, body, err)
		}
		noCert := admin.Clone()
		noCert.Certificates = nil
		if status, _, err := health(t, srv.addrs["admin"], noCert); err == nil {
			t.Fatalf("health without a client certificate answered %d", status)
		}
	})
	t.Run("device protocol answers", func(t *testing.T) {
		// The administrator is not a drive: a well-formed request is refused
		// with a protocol error frame, not a dropped connection.
		m, err := deviceProbe(t, srv.addrs["device"], admin)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(codec.Error); !ok || e.Status != codec.StatusRefused {
			t.Fatalf("device answered %#v", m)
		}
	})
	t.Run("cert issue while serving", func(t *testing.T) {
		out := t.TempDir()
		stdout, stderr, code := run(t, "cert", "issue", "--data-dir", dir, "--name", "lib-1", "--out", out, "--role", "auditor")
		if code != 0 {
			t.Fatalf("cert issue exit %d: %s", code, stderr)
		}
		certPath, keyPath := filepath.Join(out, "lib-1.pem"), filepath.Join(out, "lib-1-key.pem")
		if want := certPath + "\n" + keyPath + "\n"; stdout != want {
			t.Fatalf("cert issue printed %q, want %q", stdout, want)
		}
		conf, err := pki.ClientTLS(p.CACert, certPath, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		status, _, err := health(t, srv.addrs["admin"], conf)
		if err != nil || status != http.StatusOK {
			t.Fatalf("health with the issued certificate: %d %v", status, err)
		}
		cert, err := parseCertFile(certPath)
		if err != nil {
			t.Fatal(err)
		}
		id, err := pki.IdentityFromCert(cert)
		if err != nil || id.Role != pki.RoleAuditor || id.Name != "lib-1" {
			t.Fatalf("issued identity %+v, %v", id, err)
		}
	})
	t.Run("SIGTERM drains and exits 0", func(t *testing.T) {
		if code := srv.stop(t, syscall.SIGTERM, 10*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM", code)
		}
	})
	t.Run("restart on the initialised directory", func(t *testing.T) {
		again := startServe(t, dir, "--san", "ignored.example.test")
		status, _, err := health(t, again.addrs["admin"], admin)
		if err != nil || status != http.StatusOK {
			t.Fatalf("health after restart: %d %v", status, err)
		}
		if !strings.Contains(again.stderr.String(), "SANs are ignored") {
			t.Errorf("no warning about ignored --san:\n%s", again.stderr.String())
		}
		if code := again.stop(t, syscall.SIGINT, 10*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGINT", code)
		}
	})
}

func TestCommandErrors(t *testing.T) {
	initialised := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := run(t, "init", "--data-dir", initialised); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	out := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{name: "unknown role", args: []string{"cert", "issue", "--data-dir", initialised, "--name", "x", "--out", out, "--role", "root"}, want: "admin, operator, auditor"},
		{name: "name with path separator", args: []string{"cert", "issue", "--data-dir", initialised, "--name", "../x", "--out", out}, want: "../x"},
		{name: "missing name", args: []string{"cert", "issue", "--data-dir", initialised, "--out", out}, want: "name"},
		{name: "uninitialised data dir", args: []string{"cert", "issue", "--data-dir", filepath.Join(t.TempDir(), "none"), "--name", "x", "--out", out}, want: "not initialised"},
		{name: "bad log level", args: []string{"serve", "--data-dir", initialised, "--log-level", "loud"}, want: "--log-level"},
		{name: "unknown flag", args: []string{"serve", "--bogus"}, want: "--bogus"},
		{name: "busy address", args: []string{"serve", "--data-dir", initialised, "--kmip-addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--admin-addr", busy.Addr().String()}, want: "admin listener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code != 1 {
				t.Fatalf("exit code %d, want 1; stderr %q", code, stderr)
			}
			if !strings.HasPrefix(stderr, "keywarden: ") || !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr %q, want a keywarden: message containing %q", stderr, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("failed commands wrote %d files to the output directory", len(entries))
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code := run(t, "version")
	if code != 0 {
		t.Fatalf("version exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "keywarden ") || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go go1.") {
		t.Fatalf("version printed %q", stdout)
	}
}
