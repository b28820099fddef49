package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// compactPending compacts the store file before it is opened when a keyring
// rotation completed while the server ran: until then the file still holds
// the destroyed generation's records and older keyring copies on its free
// pages.
func compactPending(path string, logger *slog.Logger) error {
	done, err := store.CompactIfPending(path, logger)
	if err != nil {
		return fmt.Errorf("compact the store after a keyring rotation: %w", err)
	}
	if done {
		logger.Info("store compacted after the last keyring rotation: destroyed records are gone from the file", "path", path)
	}
	return nil
}

// newRotator returns the keyring rotator of b and resumes, in the
// background, a rotation that an earlier process left unfinished.
func (s *Server) newRotator(b *barrier.Barrier) *barrier.Rotator {
	path := s.store.Path()
	r := barrier.NewRotator(b, barrier.RotatorOptions{
		Logger:       s.log.With("component", "keyring"),
		AfterDestroy: func() error { return store.MarkCompactPending(path) },
	})
	if resumed, err := r.Resume(); err != nil {
		s.log.Error("keyring: cannot read the rotation state", "err", err)
	} else if resumed {
		s.log.Info("keyring: resuming an unfinished keyring rotation in the background")
	}
	return r
}

// compactionPending reports whether the store file awaits compaction.
func (s *Server) compactionPending() bool { return store.CompactPending(s.store.Path()) }

// rotateMasterKey replaces the master key while the server runs (POST
// /v1/masterkey/rotate). A PKCS#11 target without a PIN file uses the
// server's own (--pin-file or KEYWARDEN_PKCS11_PIN).
func (s *Server) rotateMasterKey(ctx context.Context, to barrier.MasterKeyOptions) (barrier.MasterKeyRotation, error) {
	if s.cluster != nil {
		return barrier.MasterKeyRotation{}, errors.New("server: the master key of a cluster node is rotated offline, on every node (keywarden masterkey rotate)")
	}
	h, ok := s.mk.(*barrier.MasterKeyHolder)
	if !ok || s.rotator == nil {
		return barrier.MasterKeyRotation{}, errors.New("server: online master-key rotation is not available")
	}
	if to.Seal == barrier.KindPKCS11 && to.PINFile == "" {
		to.PINFile = s.cfg.PINFile
	}
	var files []barrier.SealedFileRef
	for _, f := range pki.SealedFiles(s.cfg.DataDir) {
		files = append(files, barrier.SealedFileRef{Path: f.Path, Purpose: f.Purpose})
	}
	info, err := s.rotator.Barrier().RotateMasterKeyOnline(ctx, s.cfg.DataDir, h, files, to, s.log.With("component", "masterkey"))
	if err != nil {
		return info, fmt.Errorf("server: %w", err)
	}
	s.log.Info("master key rotated online", "old", info.Old, "new", info.New)
	return info, nil
}
