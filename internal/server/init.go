package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// ErrInitialized is returned by Init for a data directory that already
// holds a server.
var ErrInitialized = errors.New("server: data directory already initialised")

// StoreFile is the name of the bbolt store inside the data directory.
const StoreFile = "keywarden.db"

// InitConfig configures Init.
type InitConfig struct {
	// DataDir is the directory to initialise; it is created (0700) if
	// missing.
	DataDir string
	// PassphraseFile, if set, names a file whose content seals the master
	// key (Argon2id); otherwise the master key is stored raw (mode 0600).
	PassphraseFile string
	// Seal chooses the master key provider: barrier.KindFile,
	// barrier.KindPassphrase or barrier.KindPKCS11; empty means passphrase
	// when PassphraseFile is set, else file.
	Seal string
	// PKCS11 names the module and token for a PKCS#11 master key.
	PKCS11 barrier.PKCS11Config
	// PINFile holds the token's user PIN; empty means the environment
	// variable barrier.PINEnv.
	PINFile string
	// SANs are extra names for the server certificate: IP addresses become
	// IP SANs, anything else a DNS name.
	SANs []string
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// Init creates a server in cfg.DataDir: the master key, the store (with its
// keyring) and the PKI (CA, server certificate, administrator certificate).
// It refuses a directory that is already, or partly, initialised.
func Init(ctx context.Context, cfg InitConfig) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return errors.New("server: init: no data directory given")
	}
	initialised, err := Initialized(cfg.DataDir)
	if err != nil {
		return err
	}
	if initialised {
		return fmt.Errorf("%w: %s holds a master key, a store and a PKI; use it with serve, or choose another directory", ErrInitialized, cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("server: init: create data directory: %w", err)
	}

	mk, err := barrier.CreateMasterKeyWith(cfg.DataDir, barrier.MasterKeyOptions{
		Seal: cfg.Seal, PassphraseFile: cfg.PassphraseFile, PKCS11: cfg.PKCS11, PINFile: cfg.PINFile,
	})
	if err != nil {
		return fmt.Errorf("server: init: %w", err)
	}
	defer func() { _ = closeMasterKey(mk) }()
	st, err := store.OpenBolt(filepath.Join(cfg.DataDir, StoreFile), store.BoltOptions{Logger: logger})
	if err != nil {
		return fmt.Errorf("server: init: %w (the directory is now partly initialised: remove it and run init again)", err)
	}
	_, err = barrier.New(ctx, st, mk, barrier.Options{Logger: logger})
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("server: init: %w (the directory is now partly initialised: remove it and run init again)", err)
	}
	if err := pki.Init(cfg.DataDir, mk, cfg.SANs); err != nil {
		return fmt.Errorf("server: init: %w (the directory is now partly initialised: remove it and run init again)", err)
	}
	p := pki.PathsFor(cfg.DataDir)
	logger.Info("initialised data directory", "dir", cfg.DataDir,
		"ca_cert", p.CACert, "admin_cert", p.AdminCert, "admin_key", p.AdminKey)
	return nil
}

// Initialized reports whether dataDir holds a complete server (master key,
// store and PKI). It returns false for a missing or empty directory and an
// error for a partly initialised one, naming what is missing.
func Initialized(dataDir string) (bool, error) {
	parts := []struct {
		name    string
		present bool
	}{
		{"master key", barrier.MasterKeyExists(dataDir)},
		{"store " + StoreFile, pathExists(filepath.Join(dataDir, StoreFile))},
		{"pki/", pathExists(pki.PathsFor(dataDir).Dir)},
	}
	var present, missing []string
	for _, p := range parts {
		if p.present {
			present = append(present, p.name)
		} else {
			missing = append(missing, p.name)
		}
	}
	switch {
	case len(missing) == 0:
		return true, nil
	case len(present) == 0:
		return false, nil
	default:
		return false, fmt.Errorf("server: %s is partly initialised: found %s, missing %s (restore it from a backup, or remove it and run init again)",
			dataDir, strings.Join(present, ", "), strings.Join(missing, ", "))
	}
}

// pathExists reports whether path exists; an error other than "not found"
// counts as existing so that nothing is overwritten by mistake.
func pathExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// closeMasterKey ends a master key's sessions with its HSM, if it has any.
func closeMasterKey(mk barrier.MasterKey) error {
	if c, ok := mk.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
