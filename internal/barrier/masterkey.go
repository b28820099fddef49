// Package barrier seals every value keywarden stores, so that the store (its
// file, its Raft log, its backups) holds nothing readable.
//
// Three layers, after vault's barrier:
//
//   - a MasterKey (a file, a passphrase-sealed file, or a non-extractable
//     AES-256 key in a PKCS#11 token) wraps the keyring and the server's
//     private key files;
//   - the keyring, kept wrapped in the store at store.SysBucket/"keyring",
//     holds generations of random AES-256 keys and a blind-index key;
//   - the Barrier seals each value with AES-256-GCM under the active
//     generation, binding the value to its bucket and key, and rotates to a
//     new generation long before a key has sealed 2^32 values.
//
// Only standard primitives are used: AES-256-GCM with random 96-bit nonces
// (cipher.NewGCMWithRandomNonce, FIPS-approved), HMAC-SHA256, Argon2id
// (golang.org/x/crypto) or, in FIPS 140-3 mode, PBKDF2-HMAC-SHA256; a
// PKCS#11 master key runs AES-256-GCM inside the token.
package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
)

// MasterKey protects the keyring and sealed files. Implementations: the
// file-backed keys and the PKCS#11 key of OpenMasterKeyWith. A key that
// holds sessions with an HSM also implements io.Closer.
type MasterKey interface {
	// Wrap encrypts and authenticates plaintext, binding it to aad.
	Wrap(plaintext, aad []byte) ([]byte, error)
	// Unwrap reverses Wrap with the same aad. Any authentication failure
	// returns an error wrapping ErrTampered.
	Unwrap(wrapped, aad []byte) ([]byte, error)
	// Kind names the provider for status output ("file", "passphrase", ...).
	Kind() string
}

// ErrTampered is returned when a sealed or wrapped value fails
// authentication: it was changed, moved to another bucket or key, sealed
// under a generation this keyring does not hold, or under another key.
var ErrTampered = errors.New("barrier: authentication failed: value tampered with, moved or sealed under another key")

// keySize is the size of every symmetric key here: AES-256, HMAC-SHA256.
const keySize = 32

// gcmOverhead is what AES-GCM with a random nonce adds: nonce and tag.
const gcmOverhead = 12 + 16

// newAEAD returns AES-256-GCM under key that draws a random 96-bit nonce for
// each Seal and carries it in front of the ciphertext.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("barrier: key of %d bytes; want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	return aead, nil
}

// randomKey returns a new random 256-bit key.
func randomKey() []byte {
	k := make([]byte, keySize)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(k)
	return k
}

// wipe overwrites b; a best effort, as the Go runtime may hold copies.
func wipe(b []byte) { clear(b) }

// syncDir fsyncs a directory so that a file created or renamed in it
// survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
