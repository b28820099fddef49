package barrier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KindPKCS11 is a master key held in a PKCS#11 token (an HSM): a
// non-extractable AES-256 key; the keyring is wrapped and unwrapped inside
// the token. DIR/master.key holds only a descriptor naming the module, the
// token and the key — never the PIN.
const KindPKCS11 = "pkcs11"

// PINEnv is the environment variable read for the PKCS#11 user PIN when no
// PIN file is given.
const PINEnv = "KEYWARDEN_PKCS11_PIN"

// Errors of the PKCS#11 master key provider. Each is wrapped in a message
// naming the module and the token (never the PIN).
var (
	// ErrPKCS11Unavailable: this binary was built without cgo and has no
	// PKCS#11 support.
	ErrPKCS11Unavailable = errors.New("barrier: PKCS#11 support not compiled in")
	// ErrPINRequired: the master key is in a token and no PIN was given.
	ErrPINRequired = errors.New("barrier: PKCS#11 user PIN required")
	// ErrWrongPIN: the token refused the PIN (or the PIN is locked).
	ErrWrongPIN = errors.New("barrier: PKCS#11 token refused the PIN")
	// ErrTokenNotFound: no token with the recorded label is present.
	ErrTokenNotFound = errors.New("barrier: PKCS#11 token not found")
	// ErrMasterKeyNotFound: the token holds no key with the recorded label
	// and id.
	ErrMasterKeyNotFound = errors.New("barrier: master key not found in the PKCS#11 token")
)

// PKCS11Config names the token that holds a PKCS#11 master key.
type PKCS11Config struct {
	// Module is the path of the PKCS#11 library, such as
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string `json:"module"`
	// TokenLabel selects the token.
	TokenLabel string `json:"token_label"`
	// KeyLabel is the CKA_LABEL of the master key; empty at creation picks
	// "keywarden-master-" and a random suffix.
	KeyLabel string `json:"key_label"`
	// KeyID is the hex CKA_ID of the master key, chosen at creation.
	KeyID string `json:"key_id,omitempty"`
}

// validate checks the fields needed to reach the token.
func (c PKCS11Config) validate() error {
	switch {
	case c.Module == "":
		return errors.New("barrier: pkcs11: no module path given (--pkcs11-module)")
	case c.TokenLabel == "":
		return errors.New("barrier: pkcs11: no token label given (--token-label)")
	}
	return nil
}

// where names the token and module in messages.
func (c PKCS11Config) where() string {
	return fmt.Sprintf("token %q (module %s)", c.TokenLabel, c.Module)
}

// MasterKeyOptions selects and unlocks a master key for CreateMasterKeyWith
// and OpenMasterKeyWith.
type MasterKeyOptions struct {
	// Seal chooses the provider at creation: KindFile, KindPassphrase or
	// KindPKCS11. Empty means KindPassphrase when PassphraseFile is set,
	// else KindFile. Opening ignores it: the file says what it is.
	Seal string
	// PassphraseFile holds the passphrase of a passphrase-sealed key.
	PassphraseFile string
	// PKCS11 names the module and token, for creating a PKCS#11 key.
	PKCS11 PKCS11Config
	// PINFile holds the token's user PIN; when empty the PIN is read from
	// the environment variable PINEnv.
	PINFile string
}

// pkcs11Descriptor is the JSON content of DIR/master.key for a PKCS#11
// master key.
type pkcs11Descriptor struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	PKCS11Config
}

// pkcs11DescriptorVersion is the descriptor version this code writes.
const pkcs11DescriptorVersion = 1

// isDescriptor reports whether a master key file holds a JSON descriptor
// rather than the binary KWMK format.
func isDescriptor(content []byte) bool {
	return len(content) > 0 && bytes.TrimLeft(content, " \t\r\n")[0] == '{'
}

// parseDescriptor decodes and checks a PKCS#11 descriptor read from path.
func parseDescriptor(path string, content []byte) (pkcs11Descriptor, error) {
	var d pkcs11Descriptor
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("barrier: %s: unreadable master key descriptor: %w", path, err)
	}
	if d.Kind != KindPKCS11 {
		return d, fmt.Errorf("barrier: %s: master key descriptor of kind %q; this keywarden understands %q", path, d.Kind, KindPKCS11)
	}
	if d.Version != pkcs11DescriptorVersion {
		return d, fmt.Errorf("barrier: %s: master key descriptor version %d; this keywarden understands %d", path, d.Version, pkcs11DescriptorVersion)
	}
	if err := d.validate(); err != nil {
		return d, fmt.Errorf("%w (in %s)", err, path)
	}
	if d.KeyLabel == "" || d.KeyID == "" {
		return d, fmt.Errorf("barrier: %s: master key descriptor names no key label or id", path)
	}
	return d, nil
}

// marshalDescriptor returns the file content for cfg.
func marshalDescriptor(cfg PKCS11Config) ([]byte, error) {
	b, err := json.MarshalIndent(pkcs11Descriptor{Kind: KindPKCS11, Version: pkcs11DescriptorVersion, PKCS11Config: cfg}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("barrier: encode master key descriptor: %w", err)
	}
	return append(b, '\n'), nil
}

// readPIN returns the user PIN from o.PINFile, else from PINEnv.
func readPIN(o MasterKeyOptions, cfg PKCS11Config) ([]byte, error) {
	if o.PINFile != "" {
		data, err := os.ReadFile(o.PINFile)
		if err != nil {
			return nil, fmt.Errorf("barrier: read PIN file: %w", err)
		}
		pin := bytes.TrimRight(data, "\r\n")
		if len(pin) == 0 {
			return nil, fmt.Errorf("barrier: PIN file %s is empty", o.PINFile)
		}
		return pin, nil
	}
	if pin := strings.TrimRight(os.Getenv(PINEnv), "\r\n"); pin != "" {
		return []byte(pin), nil
	}
	return nil, &detailedError{
		msg: fmt.Sprintf("barrier: the master key is in PKCS#11 %s: give --pin-file or set %s", cfg.where(), PINEnv),
		err: ErrPINRequired,
	}
}

// writeNewFile writes content to a new file at path (0600), refusing to
// replace one, and syncs it and its directory.
func writeNewFile(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("barrier: %s already exists: refusing to replace a master key", path)
	}
	if err != nil {
		return fmt.Errorf("barrier: create master key: %w", err)
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("barrier: write master key %s: %w", path, err)
	}
	return nil
}
