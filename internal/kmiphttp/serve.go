package kmiphttp

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

// Serve answers KMIP over HTTPS on ln with h until ctx is cancelled, then
// lets in-flight requests finish for up to grace. tlsConfig must require
// and verify client certificates (the server's KMIP TLS configuration). It
// returns nil after a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, h *Handler, grace time.Duration, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := tlsConfig.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, cfg)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("kmiphttp: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("kmiphttp: requests cut off after the grace period", "grace", grace)
		_ = srv.Close()
		return nil
	}
	if err != nil {
		return fmt.Errorf("kmiphttp: shutdown: %w", err)
	}
	return nil
}
