package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// KeyringRotator runs keyring rotations and reports on the keyring
// (*barrier.Rotator).
type KeyringRotator interface {
	// Status describes the keyring and the rotation's progress.
	Status() (barrier.KeyringStatus, error)
	// Start begins (or resumes) a rotation in the background; it returns
	// an error wrapping barrier.ErrRotationRunning when one runs already.
	Start(ctx context.Context) (barrier.RotationStatus, error)
}

// Keyring is the answer of GET /v1/keyring and POST /v1/keyring/rotate. It
// never holds key material.
type Keyring struct {
	// MasterKey is the kind of master key wrapping the keyring.
	MasterKey   string       `json:"master_key"`
	Generations []Generation `json:"generations"`
	// Rotation is the rotation in progress, else the last completed one.
	Rotation barrier.RotationStatus `json:"rotation"`
	// CompactionPending: the store file still holds destroyed records on
	// its free pages until it is compacted at the next start.
	CompactionPending bool `json:"compaction_pending"`
}

// Generation is one keyring generation, without its key.
type Generation struct {
	ID       uint32    `json:"id"`
	Created  time.Time `json:"created"`
	Reserved uint64    `json:"reserved_seals"`
	Active   bool      `json:"active"`
}

// keyringRotator returns the rotator, or a 503 when the server runs
// without one.
func (h *Handler) keyringRotator() (KeyringRotator, error) {
	if h.cfg.Keyring == nil {
		return nil, &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "keyring rotation is not enabled on this server"}
	}
	return h.cfg.Keyring, nil
}

// keyringJSON builds the answer from the rotator's status.
func (h *Handler) keyringJSON(r KeyringRotator) (Keyring, error) {
	st, err := r.Status()
	if err != nil {
		return Keyring{}, err
	}
	out := Keyring{MasterKey: st.MasterKey, Rotation: st.Rotation, Generations: make([]Generation, 0, len(st.Generations))}
	for _, g := range st.Generations {
		out.Generations = append(out.Generations, Generation{ID: g.ID, Created: g.Created, Reserved: g.Reserved, Active: g.Active})
	}
	if h.cfg.CompactionPending != nil {
		out.CompactionPending = h.cfg.CompactionPending()
	}
	return out, nil
}

func (h *Handler) showKeyring(w http.ResponseWriter, _ *call) error {
	r, err := h.keyringRotator()
	if err != nil {
		return err
	}
	out, err := h.keyringJSON(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// rotateKeyring starts a keyring rotation (or resumes an unfinished one)
// and answers 202 with the keyring's status; 409 when one runs already.
func (h *Handler) rotateKeyring(w http.ResponseWriter, c *call) error {
	r, err := h.keyringRotator()
	if err != nil {
		return err
	}
	if _, err := r.Start(c.ctx); err != nil {
		if errors.Is(err, barrier.ErrRotationRunning) {
			return &requestError{http.StatusConflict, "rotation-running", "Rotation running",
				"a keyring rotation is already running: follow it with GET /v1/keyring"}
		}
		return err
	}
	out, err := h.keyringJSON(r)
	if err != nil {
		return err
	}
	h.log.Info("keyring rotation started", "by", c.principal.Name, "generation", out.Rotation.Target)
	return writeJSON(w, http.StatusAccepted, out)
}

// masterKeyRotateRequest is the body of POST /v1/masterkey/rotate. Paths
// name files on the server's machine, as the server's own flags do.
type masterKeyRotateRequest struct {
	// Seal is the new key's kind: file, passphrase or pkcs11.
	Seal string `json:"seal"`
	// PassphraseFile holds the new passphrase (seal passphrase).
	PassphraseFile string `json:"passphrase_file"`
	// PKCS11Module, TokenLabel and KeyLabel name the new key's token
	// (seal pkcs11); PINFile its user PIN (default: the server's).
	PKCS11Module string `json:"pkcs11_module"`
	TokenLabel   string `json:"token_label"`
	KeyLabel     string `json:"key_label"`
	PINFile      string `json:"pin_file"`
}

// MasterKeyRotation is the answer of POST /v1/masterkey/rotate.
type MasterKeyRotation struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// rotateMasterKey replaces the master key while the server runs.
func (h *Handler) rotateMasterKey(w http.ResponseWriter, c *call) error {
	if h.cfg.MasterKeyRotate == nil {
		return &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "online master-key rotation is not enabled on this server"}
	}
	var req masterKeyRotateRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	switch req.Seal {
	case barrier.KindFile, barrier.KindPassphrase, barrier.KindPKCS11:
	default:
		return badRequest("seal %q: want %s, %s or %s", req.Seal, barrier.KindFile, barrier.KindPassphrase, barrier.KindPKCS11)
	}
	to := barrier.MasterKeyOptions{Seal: req.Seal, PassphraseFile: req.PassphraseFile, PINFile: req.PINFile,
		PKCS11: barrier.PKCS11Config{Module: req.PKCS11Module, TokenLabel: req.TokenLabel, KeyLabel: req.KeyLabel}}
	info, err := h.cfg.MasterKeyRotate(c.ctx, to)
	if err != nil {
		if errors.Is(err, barrier.ErrMasterKeyRotationPending) {
			return &requestError{http.StatusConflict, "rotation-pending", "Master-key rotation unfinished", err.Error()}
		}
		h.log.Error("master-key rotation failed", "err", err)
		return &requestError{http.StatusUnprocessableEntity, "rotation-failed", "Master-key rotation failed", err.Error()}
	}
	h.log.Info("master key rotated", "by", c.principal.Name, "old", info.Old, "new", info.New)
	return writeJSON(w, http.StatusOK, MasterKeyRotation{Old: info.Old, New: info.New})
}
