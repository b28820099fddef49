package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Limits of the admin HTTPS listener.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminReadTimeout       = 30 * time.Second
	adminWriteTimeout      = 30 * time.Second
	adminIdleTimeout       = 2 * time.Minute
	adminMaxHeaderBytes    = 16 << 10
)

// newAdminServer returns the admin HTTPS server around the admin API
// handler (internal/admin). The TLS handshake enforces mutual TLS; the
// handler resolves the client certificate and applies its route table.
func newAdminServer(tlsConf *tls.Config, handler http.Handler, logger *slog.Logger) *http.Server {
	conf := tlsConf.Clone()
	// What ServeTLS would offer; the handshake is done by
	// handshakeListener with this configuration, and Serve configures
	// HTTP/2 because it is listed.
	conf.NextProtos = []string{"h2", "http/1.1"}
	return &http.Server{
		Handler:           handler,
		TLSConfig:         conf,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		// Refused handshakes are logged and audited by handshakeListener;
		// what http.Server itself reports lands here.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveAdmin serves srv on ln, a handshakeListener (its connections have
// completed their TLS handshake), until ctx ends, then shuts it down: no
// new connections, in-flight requests get up to grace, then the remaining
// connections are closed.
func serveAdmin(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// Serve only returns before Shutdown on a listener failure.
		return fmt.Errorf("server: admin listener: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("admin: grace period over, closing remaining connections", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: admin listener: %w", err)
	}
	return nil
}
