// Package testenv starts a real keywarden server for tests: a fresh data
// directory in t.TempDir(), all three listeners on 127.0.0.1:0, mutual TLS
// with certificates from the server's own CA, and a Shutdown registered
// with t.Cleanup.
package testenv

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

// Env is a running test server.
type Env struct {
	// DataDir is the server's data directory.
	DataDir string
	// KMIPAddr, DeviceAddr and AdminAddr are the bound listener addresses
	// (127.0.0.1:PORT).
	KMIPAddr, DeviceAddr, AdminAddr string
	// AdminTLS is a client configuration presenting the administrator
	// certificate and trusting the server's CA.
	AdminTLS *tls.Config
	// Server is the running server.
	Server *server.Server

	passphraseFile string
}

// Option changes how Start builds the server.
type Option func(*options)

type options struct {
	dataDir        string
	passphraseFile string
	logger         *slog.Logger
	grace          time.Duration
	audit          audit.Recorder
	configure      func(*server.Config)
}

// WithConfig lets fn adjust the server configuration Start builds, after
// the test defaults (data dir, loopback listeners, logger) are set.
func WithConfig(fn func(*server.Config)) Option { return func(o *options) { o.configure = fn } }

// WithDataDir runs the server on dir instead of a fresh t.TempDir(), for
// example to restart a server on the data of a previous one.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithPassphraseFile seals (or opens) the master key with the passphrase in
// path.
func WithPassphraseFile(path string) Option { return func(o *options) { o.passphraseFile = path } }

// WithLogger sends the server's logs to logger instead of t.Log.
func WithLogger(logger *slog.Logger) Option { return func(o *options) { o.logger = logger } }

// WithShutdownGrace sets the server's shutdown grace period (default 5s).
func WithShutdownGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithAudit sends the server's audit events to rec (for example an
// *audit.Memory, whose SetFail exercises the fail-closed paths) instead
// of discarding them.
func WithAudit(rec audit.Recorder) Option { return func(o *options) { o.audit = rec } }

// Start starts a server and registers its shutdown with t.Cleanup. It fails
// the test if the server cannot start or does not shut down cleanly.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{grace: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	var logw *tbWriter
	if o.logger == nil {
		logw = &tbWriter{t: t}
		o.logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	cfg := server.Config{
		DataDir:        o.dataDir,
		PassphraseFile: o.passphraseFile,
		KMIPAddr:       "127.0.0.1:0",
		DeviceAddr:     "127.0.0.1:0",
		AdminAddr:      "127.0.0.1:0",
		Logger:         o.logger,
		ShutdownGrace:  o.grace,
		Audit:          o.audit,
		Node:           "testenv",
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), o.grace+10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("testenv: shutdown: %v", err)
		}
		if logw != nil {
			logw.close()
		}
	})

	p := pki.PathsFor(o.dataDir)
	adminTLS, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	env := &Env{
		DataDir:        o.dataDir,
		AdminTLS:       adminTLS,
		Server:         srv,
		passphraseFile: o.passphraseFile,
	}
	env.KMIPAddr, env.DeviceAddr, env.AdminAddr = srv.Addrs()
	return env
}

// IssueClient issues a client certificate named name with role from the
// server's CA, into a fresh t.TempDir(), and returns a client configuration
// presenting it.
func (e *Env) IssueClient(t testing.TB, name string, role pki.Role) *tls.Config {
	t.Helper()
	mk, err := barrier.OpenMasterKey(e.DataDir, e.passphraseFile)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	certPath, keyPath, err := pki.IssueClient(e.DataDir, mk, name, role, t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	conf, err := pki.ClientTLS(pki.PathsFor(e.DataDir).CACert, certPath, keyPath)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return conf
}

// tbWriter sends log lines to t.Log until closed: logging through a test
// that has finished would panic.
type tbWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
