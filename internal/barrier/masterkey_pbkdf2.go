package barrier

import (
	"bytes"
	"crypto/fips140"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// mkModePBKDF2 is the master key file mode of a passphrase-sealed key under
// PBKDF2-HMAC-SHA256, the FIPS-approved passphrase KDF.
const mkModePBKDF2 byte = 3

// pbkdf2Iterations is what new PBKDF2-sealed files use (OWASP's 2023
// figure for PBKDF2-HMAC-SHA256). The count is in the file, so it can grow.
const pbkdf2Iterations = 600_000

// pbkdf2 bounds for files read back, so a damaged file cannot ask for
// absurd work.
const (
	pbkdf2MinIterations = 100_000
	pbkdf2MaxIterations = 100_000_000
	pbkdf2FileLen       = mkHeaderLen + 4 + saltLen + gcmOverhead + keySize
)

// fipsEnabled reports whether the process runs Go's FIPS 140-3 module; a
// variable so that tests can take the FIPS branch without the process mode.
var fipsEnabled = fips140.Enabled

// sealPBKDF2 returns a mode 3 master key file sealing key under passphrase.
func sealPBKDF2(key, passphrase []byte, iterations uint32) ([]byte, error) {
	content := append([]byte(mkMagic), mkVersion, mkModePBKDF2)
	content = binary.BigEndian.AppendUint32(content, iterations)
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	content = append(content, salt...)
	kek, err := pbkdf2.Key(sha256.New, string(passphrase), salt, int(iterations), keySize)
	if err != nil {
		return nil, fmt.Errorf("barrier: pbkdf2: %w", err)
	}
	defer wipe(kek)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	return aead.Seal(content, nil, key, bytes.Clone(content)), nil
}

// openPBKDF2Key unseals the master key in content (a mode 3 file).
func openPBKDF2Key(path string, content []byte, passphraseFile string) (MasterKey, error) {
	if len(content) != pbkdf2FileLen {
		return nil, fmt.Errorf("barrier: %s is corrupted (%d bytes)", path, len(content))
	}
	iterations := binary.BigEndian.Uint32(content[mkHeaderLen:])
	if iterations < pbkdf2MinIterations || iterations > pbkdf2MaxIterations {
		return nil, fmt.Errorf("barrier: %s: implausible PBKDF2 iteration count %d", path, iterations)
	}
	header := content[:mkHeaderLen+4+saltLen]
	salt := header[mkHeaderLen+4:]
	passphrase, err := readPassphrase(passphraseFile)
	if err != nil {
		return nil, err
	}
	defer wipe(passphrase)
	kek, err := pbkdf2.Key(sha256.New, string(passphrase), salt, int(iterations), keySize)
	if err != nil {
		return nil, fmt.Errorf("barrier: pbkdf2: %w", err)
	}
	defer wipe(kek)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, nil, content[len(header):], header)
	if err != nil {
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: wrong passphrase or corrupted master key file %s", path),
			err: ErrWrongPassphrase,
		}
	}
	defer wipe(key)
	return newFileMasterKey(key, KindPassphrase)
}
