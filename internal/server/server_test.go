package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// adminHealth calls GET /v1/health on the admin listener.
func adminHealth(t *testing.T, addr string, conf *tls.Config) (int, string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + addr + "/v1/health")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, string(body), nil
}

// deviceDial opens a TLS connection to the device listener and completes
// the handshake (reading one byte back is what proves a TLS 1.3 server
// accepted the client certificate, so callers probe afterwards).
func deviceDial(t *testing.T, addr string, conf *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn.(*tls.Conn), nil
}

// probeID is the request id of probeFrame.
var probeID = codec.RequestID{0x70, 0x72, 0x6f, 0x62, 0x65}

// probeFrame is a device-protocol write request for a drive the server
// does not know: it is always answered with an Error.
func probeFrame(t *testing.T) []byte {
	t.Helper()
	b, err := codec.Encode(codec.WriteKeyRequest{RequestID: probeID, DriveSerial: "PROBE0001", WWN: "0000000000000001", Volser: "PRB001"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHealthChecks(t *testing.T) {
	env := testenv.Start(t)
	auditor := env.IssueClient(t, "auditor-1", pki.RoleAuditor)
	foreign := testenv.Start(t).AdminTLS.Clone() // certificate from another CA
	foreign.RootCAs = env.AdminTLS.RootCAs       // ... but trusting our server
	noCert := env.AdminTLS.Clone()
	noCert.Certificates = nil

	t.Run("admin health", func(t *testing.T) {
		tests := []struct {
			name   string
			conf   *tls.Config
			wantOK bool
		}{
			{name: "administrator", conf: env.AdminTLS, wantOK: true},
			{name: "issued auditor", conf: auditor, wantOK: true},
			{name: "foreign CA", conf: foreign},
			{name: "no client certificate", conf: noCert},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body, err := adminHealth(t, env.AdminAddr, tt.conf)
				if !tt.wantOK {
					if err == nil {
						t.Fatalf("admin answered %d %q without a valid client certificate", status, body)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if status != http.StatusOK || body != `{"status":"ok"}` {
					t.Fatalf("got %d %q", status, body)
				}
			})
		}
	})

	t.Run("admin unknown path", func(t *testing.T) {
		status, _, err := adminHealth(t, env.AdminAddr, env.AdminTLS)
		if err != nil || status != http.StatusOK {
			t.Fatalf("control request: %d %v", status, err)
		}
		tr := &http.Transport{TLSClientConfig: env.AdminTLS}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + env.AdminAddr + "/v1/nothing")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown path answered %d", resp.StatusCode)
		}
	})

	t.Run("device listener", func(t *testing.T) {
		junk := strings.Repeat("P", 200) + "\n"
		tests := []struct {
			name    string
			conf    *tls.Config
			send    string
			answer  bool // a device-protocol frame is expected
			wantErr bool
		}{
			{name: "request answered", conf: env.AdminTLS, send: string(probeFrame(t)), answer: true},
			{name: "request from issued client answered", conf: auditor, send: string(probeFrame(t)), answer: true},
			{name: "bad magic closes silently", conf: env.AdminTLS, send: junk},
			{name: "foreign CA refused", conf: foreign, send: string(probeFrame(t)), wantErr: true},
			{name: "no client certificate refused", conf: noCert, send: string(probeFrame(t)), wantErr: true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				conn, err := deviceDial(t, env.DeviceAddr, tt.conf)
				if err == nil {
					defer conn.Close()
					_, err = io.WriteString(conn, tt.send)
				}
				var got []byte
				if err == nil {
					if tt.answer {
						got, err = codec.ReadMessage(conn, 0)
					} else {
						got, err = io.ReadAll(conn)
					}
				}
				if tt.wantErr {
					if err == nil {
						t.Fatalf("refused client got %q", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !tt.answer {
					if len(got) != 0 {
						t.Fatalf("answer %q to a refused frame", got)
					}
					return
				}
				msg, err := codec.Decode(got)
				if err != nil {
					t.Fatal(err)
				}
				if e, ok := msg.(codec.Error); !ok || e.RequestID != probeID {
					t.Fatalf("answer %#v, want an Error for the request", msg)
				}
			})
		}
	})

	t.Run("kmip listener requires a client certificate", func(t *testing.T) {
		conn, err := deviceDial(t, env.KMIPAddr, env.AdminTLS)
		if err != nil {
			t.Fatalf("admin handshake with the KMIP listener: %v", err)
		}
		conn.Close()
		conn, err = deviceDial(t, env.KMIPAddr, noCert)
		if err == nil {
			// TLS 1.3: the refusal arrives with the first read.
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("KMIP listener did not refuse a client without certificate: %v", err)
		}
	})
}

func TestShutdownDrainsInFlight(t *testing.T) {
	env := testenv.Start(t, testenv.WithShutdownGrace(5*time.Second))
	// A connection accepted before shutdown, whose request arrives during
	// the drain, is still answered.
	conn, err := deviceDial(t, env.DeviceAddr, env.AdminTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server finish its side of the handshake

	shutdown := make(chan error, 1)
	go func() { shutdown <- env.Server.Shutdown(context.Background()) }()
	// Wait until the listeners are closed before sending.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", env.AdminAddr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("admin listener still accepting after Shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Write(probeFrame(t)); err != nil {
		t.Fatal(err)
	}
	answer, err := codec.ReadMessage(conn, 0)
	if err != nil {
		t.Fatalf("in-flight request not answered during the drain: %v", err)
	}
	if _, err := codec.Decode(answer); err != nil {
		t.Fatalf("in-flight request answered %q: %v", answer, err)
	}
	if rest, err := io.ReadAll(conn); len(rest) != 0 || err != nil {
		t.Fatalf("connection not closed after the drained answer: %q %v", rest, err)
	}
	select {
	case err := <-shutdown:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if err := env.Server.Wait(); err != nil {
		t.Fatalf("Wait after clean shutdown: %v", err)
	}
	for _, addr := range []string{env.KMIPAddr, env.DeviceAddr, env.AdminAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

func TestShutdownGraceClosesIdleConnections(t *testing.T) {
	const grace = 300 * time.Millisecond
	env := testenv.Start(t, testenv.WithShutdownGrace(grace))
	conn, err := deviceDial(t, env.DeviceAddr, env.AdminTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := env.Server.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// The idle probe connection would otherwise hold the drain for its
	// full 10 s read timeout.
	if took := time.Since(start); took > grace+3*time.Second {
		t.Fatalf("Shutdown took %v with a %v grace period", took, grace)
	}
}

func TestRestartKeepsIdentity(t *testing.T) {
	dir := t.TempDir()
	first := testenv.Start(t, testenv.WithDataDir(dir))
	if err := first.Server.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := testenv.Start(t, testenv.WithDataDir(dir))
	// The first server's administrator credential still works.
	status, body, err := adminHealth(t, second.AdminAddr, first.AdminTLS)
	if err != nil || status != http.StatusOK {
		t.Fatalf("health after restart: %d %q %v", status, body, err)
	}
}

func TestNewRefusesPartialDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pki"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := server.New(server.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "partly initialised") {
		t.Fatalf("New on a partly initialised directory: %v", err)
	}
}

func TestInitRefusesInitialisedDir(t *testing.T) {
	dir := t.TempDir()
	if err := server.Init(context.Background(), server.InitConfig{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	ok, err := server.Initialized(dir)
	if err != nil || !ok {
		t.Fatalf("Initialized after Init = %v, %v", ok, err)
	}
	err = server.Init(context.Background(), server.InitConfig{DataDir: dir})
	if !errors.Is(err, server.ErrInitialized) {
		t.Fatalf("second Init = %v, want ErrInitialized", err)
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := server.Config{DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: busy.Addr().String()}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err == nil {
		t.Fatal("Start bound an address already in use")
	}
	// Start released everything: the store can be opened again.
	cfg.AdminAddr = "127.0.0.1:0"
	again, err := server.New(cfg)
	if err != nil {
		t.Fatalf("New after a failed Start: %v", err)
	}
	if err := again.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := again.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelStops(t *testing.T) {
	srv, err := server.New(server.Config{DataDir: t.TempDir(), KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, admin := srv.Addrs()
	if !strings.HasPrefix(admin, "127.0.0.1:") || strings.HasSuffix(admin, ":0") {
		t.Fatalf("admin address %q", admin)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop after its context was cancelled")
	}
}

func TestPassphraseProtectedDataDir(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.WithDataDir(dir), testenv.WithPassphraseFile(pass))
	operator := env.IssueClient(t, "op-1", pki.RoleOperator)
	if status, _, err := adminHealth(t, env.AdminAddr, operator); err != nil || status != http.StatusOK {
		t.Fatalf("health with a certificate issued under the passphrase: %d %v", status, err)
	}
	if err := env.Server.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without the passphrase the server cannot open its keys.
	if _, err := server.New(server.Config{DataDir: dir}); err == nil {
		t.Fatal("New opened a passphrase-protected data directory without the passphrase")
	}
}
