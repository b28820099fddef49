package client

import (
	"context"
	"net/http"
	"time"
)

// Keyring describes the server's keyring (never its keys) and the progress
// of a keyring rotation (GET /v1/keyring).
type Keyring struct {
	// MasterKey is the kind of master key wrapping the keyring: file,
	// passphrase or pkcs11.
	MasterKey   string              `json:"master_key"`
	Generations []KeyringGeneration `json:"generations"`
	Rotation    KeyringRotation     `json:"rotation"`
	// CompactionPending: the store file still holds destroyed records on
	// its free pages until the server compacts it at its next start.
	CompactionPending bool `json:"compaction_pending"`
}

// KeyringGeneration is one keyring generation.
type KeyringGeneration struct {
	ID       uint32    `json:"id"`
	Created  time.Time `json:"created"`
	Reserved uint64    `json:"reserved_seals"`
	Active   bool      `json:"active"`
}

// KeyringRotation is a keyring rotation in progress, or the last completed
// one.
type KeyringRotation struct {
	InProgress bool      `json:"in_progress"`
	Running    bool      `json:"running"`
	Phase      string    `json:"phase,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	Target     uint32    `json:"target"`
	Retire     []uint32  `json:"retire"`
	Bucket     string    `json:"bucket,omitempty"`
	Resealed   uint64    `json:"resealed"`
	Total      uint64    `json:"total"`
	Unreadable uint64    `json:"unreadable"`
	Error      string    `json:"error,omitempty"`
}

// Keyring returns the keyring's generations and rotation progress.
func (c *Client) Keyring(ctx context.Context) (*Keyring, error) {
	var k Keyring
	if err := c.do(ctx, http.MethodGet, "/v1/keyring", nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RotateKeyring starts a keyring rotation in the background (admin only);
// follow it with Keyring. A rotation already running answers 409.
func (c *Client) RotateKeyring(ctx context.Context) (*Keyring, error) {
	var k Keyring
	if err := c.do(ctx, http.MethodPost, "/v1/keyring/rotate", nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// MasterKeySpec describes the new master key of RotateMasterKey. Paths
// name files on the server's machine.
type MasterKeySpec struct {
	// Seal is file, passphrase or pkcs11.
	Seal           string `json:"seal"`
	PassphraseFile string `json:"passphrase_file,omitempty"`
	PKCS11Module   string `json:"pkcs11_module,omitempty"`
	TokenLabel     string `json:"token_label,omitempty"`
	KeyLabel       string `json:"key_label,omitempty"`
	PINFile        string `json:"pin_file,omitempty"`
}

// MasterKeyRotation reports the kinds of master key before and after.
type MasterKeyRotation struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// RotateMasterKey replaces the running server's master key (admin only).
func (c *Client) RotateMasterKey(ctx context.Context, spec MasterKeySpec) (*MasterKeyRotation, error) {
	var out MasterKeyRotation
	if err := c.do(ctx, http.MethodPost, "/v1/masterkey/rotate", nil, spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
