package admin

import (
	"context"
	"io"
	"net/http"
	"time"
)

// BackupFunc writes an encrypted backup of the whole server to w, under a
// key derived from passphrase (see internal/backup). The server provides
// it; ctx ends when the request does.
type BackupFunc func(ctx context.Context, w io.Writer, passphrase []byte) error

// backupTimeout bounds POST /v1/backup: the backup streams the whole store.
const backupTimeout = 30 * time.Minute

// minBackupPassphrase is the shortest passphrase a backup accepts.
const minBackupPassphrase = 8

// backupRequest is the body of POST /v1/backup. The passphrase travels
// over the mutually authenticated TLS connection and is never logged.
type backupRequest struct {
	Passphrase string `json:"passphrase"`
}

// backup streams an encrypted backup of the server: the store as one
// consistent snapshot, the PKI and the audit trail (internal/backup). The
// answer is the backup file itself. A failure after the first bytes went
// out cannot change the status any more: the stream is then cut short,
// which the reader detects (a backup is complete only with its
// authenticated last chunk; keywarden backup verifies the file it receives).
func (h *Handler) backup(w http.ResponseWriter, c *call) error {
	if h.cfg.Backup == nil {
		return &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "backups are not enabled on this server"}
	}
	var req backupRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	passphrase := []byte(req.Passphrase)
	defer clear(passphrase)
	if len(passphrase) < minBackupPassphrase {
		return badRequest("the backup passphrase must be at least %d bytes", minBackupPassphrase)
	}
	// The listener's write timeout suits short answers; a backup may take
	// longer, up to the route's timeout.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupTimeout)); err != nil {
		h.log.Warn("admin: backup: extend the write deadline", "err", err)
	}
	out := &startWriter{w: w}
	err := h.cfg.Backup(c.ctx, out, passphrase)
	if err != nil && out.started {
		h.log.Error("admin: backup failed while streaming; the client receives a cut-short file", "err", err,
			"client", c.principal.Name)
		return nil
	}
	if err != nil {
		return err
	}
	h.log.Info("admin: backup written", "bytes", out.n, "client", c.principal.Name)
	return nil
}

// startWriter sends the headers of the backup answer with its first bytes.
type startWriter struct {
	w       http.ResponseWriter
	started bool
	n       int64
}

func (s *startWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		hd := s.w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Disposition", `attachment; filename="keywarden.kwbackup"`)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		s.w.WriteHeader(http.StatusOK)
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}
