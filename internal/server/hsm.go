package server

import (
	"errors"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/labels"
)

// attachHSM gives the label service the master key's PKCS#11 token (one
// shared session per process), for labels whose private keys live in it.
// With Config.RequireHardwareProtection or Config.RequireHSM (the seed's
// requireHardwareProtectionForSymmetricKeys property) and a token, labels
// are generated in the token only and data keys come from it; without a
// token RequireHardwareProtection refuses to start (RequireHSM only warns,
// in reload.go).
func (s *Server) attachHSM(mk barrier.MasterKey) error {
	required := s.cfg.RequireHardwareProtection || s.cfg.RequireHSM
	h, ok := labels.HSMFromMasterKey(mk)
	if !ok {
		if s.cfg.RequireHardwareProtection {
			return errors.New("hardware protection required (requireHardwareProtectionForSymmetricKeys), but the master key is not in an HSM: initialise the data directory with --seal pkcs11 (or rotate the master key into a token: keywarden masterkey rotate --seal pkcs11)")
		}
		return nil
	}
	s.labels.SetHSM(h, required)
	s.log.Info("key labels may keep their private keys in the HSM", "token", h.Token(),
		"hardware_required", required)
	return nil
}
