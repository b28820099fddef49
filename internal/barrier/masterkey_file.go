package barrier

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
)

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// Kinds of file-backed master key.
const (
	// KindFile is a master key kept in the clear in its file: the weakest
	// option, since anyone who can read the data directory has every key.
	KindFile = "file"
	// KindPassphrase is a master key sealed under a key derived from a
	// passphrase with Argon2id.
	KindPassphrase = "passphrase"
)

// Errors of OpenMasterKey.
var (
	// ErrPassphraseRequired: the master key is passphrase-protected and no
	// passphrase file was given.
	ErrPassphraseRequired = errors.New("barrier: master key is passphrase-protected")
	// ErrWrongPassphrase: the passphrase does not open the master key (or
	// the file is corrupted; the two cannot be told apart).
	ErrWrongPassphrase = errors.New("barrier: wrong passphrase or corrupted master key file")
)

// The master key file:
//
//	magic "KWMK" | version 1 | mode
//	mode 1 (file):       key (32)
//	mode 2 (passphrase): time u32 | memory KiB u32 | threads u8 | salt (16) |
//	                     AES-256-GCM(Argon2id key; nonce (12) | sealed key (32) | tag (16))
//	                     with everything before the nonce as additional data
//	mode 3 (passphrase, FIPS): iterations u32 | salt (16) |
//	                     AES-256-GCM(PBKDF2-HMAC-SHA256 key; nonce | sealed key | tag)
//	                     with everything before the nonce as additional data
//	(a PKCS#11 key's file is instead a JSON descriptor: see KindPKCS11)
//
// Integers are big-endian. The Argon2id parameters are in the file so that
// the defaults can grow without breaking older files.
const (
	mkMagic           = "KWMK"
	mkVersion    byte = 1
	mkModeFile   byte = 1
	mkModePass   byte = 2
	mkHeaderLen       = len(mkMagic) + 2
	saltLen           = 16
	kdfParamsLen      = 4 + 4 + 1
	rawFileLen        = mkHeaderLen + keySize
	passFileLen       = mkHeaderLen + kdfParamsLen + saltLen + gcmOverhead + keySize
)

// kdfParams are Argon2id's cost parameters.
type kdfParams struct {
	time, memoryKiB uint32
	threads         uint8
}

// defaultKDF is what CreateMasterKey uses: 3 passes over 64 MiB, 2 lanes.
var defaultKDF = kdfParams{time: 3, memoryKiB: 64 * 1024, threads: 2}

// check bounds parameters read from a file, so a damaged file cannot ask
// for absurd time or memory.
func (p kdfParams) check() error {
	if p.time < 1 || p.time > 100 || p.threads < 1 || p.threads > 64 ||
		p.memoryKiB < 8*uint32(p.threads) || p.memoryKiB > 4<<20 {
		return fmt.Errorf("implausible Argon2id parameters (time %d, memory %d KiB, threads %d)",
			p.time, p.memoryKiB, p.threads)
	}
	return nil
}

// fileMasterKey is a master key held in memory as an AEAD.
type fileMasterKey struct {
	aead cipher.AEAD
	kind string
}

// wrapVersion is the first byte of a wrapped value.
const wrapVersion byte = 1

// Wrap implements MasterKey: version byte, then AES-256-GCM with a random
// nonce; the version byte is authenticated with aad.
func (k *fileMasterKey) Wrap(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1, 1+gcmOverhead+len(plaintext))
	out[0] = wrapVersion
	return k.aead.Seal(out, nil, plaintext, wrapAAD(aad)), nil
}

// Unwrap implements MasterKey.
func (k *fileMasterKey) Unwrap(wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1+gcmOverhead || wrapped[0] != wrapVersion {
		return nil, ErrTampered
	}
	pt, err := k.aead.Open(nil, nil, wrapped[1:], wrapAAD(aad))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// Kind implements MasterKey.
func (k *fileMasterKey) Kind() string { return k.kind }

func wrapAAD(aad []byte) []byte {
	return append([]byte{wrapVersion}, aad...)
}

// newFileMasterKey returns the MasterKey for key (which it does not keep).
func newFileMasterKey(key []byte, kind string) (MasterKey, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &fileMasterKey{aead: aead, kind: kind}, nil
}

// detailedError carries a full message for people and a sentinel for code.
type detailedError struct {
	msg string
	err error
}

func (e *detailedError) Error() string { return e.msg }
func (e *detailedError) Unwrap() error { return e.err }

// MasterKeyExists reports whether dataDir holds a master key file. A file
// that cannot be examined (a permission error) counts as present, so that
// initialisation never overwrites it.
func MasterKeyExists(dataDir string) bool {
	_, err := os.Lstat(filepath.Join(dataDir, MasterKeyFile))
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// CreateMasterKey generates a random 256-bit master key and writes it to
// dataDir/master.key with mode 0600, refusing to replace an existing file.
//
// With passphraseFile empty the key is written in the clear: the weakest
// option, since anyone who can read the data directory has every key.
// Otherwise the file's content (trailing newlines trimmed; it must not be
// empty) is the passphrase, and the key is sealed with AES-256-GCM under
// Argon2id(passphrase, random 16-byte salt) — or, in FIPS 140-3 mode, under
// PBKDF2-HMAC-SHA256 with 600,000 iterations.
//
// It is CreateMasterKeyWith with only a passphrase file.
func CreateMasterKey(dataDir, passphraseFile string) (MasterKey, error) {
	return CreateMasterKeyWith(dataDir, MasterKeyOptions{PassphraseFile: passphraseFile})
}

// CreateMasterKeyWith creates the master key chosen by o.Seal: a file key
// (see CreateMasterKey) or, for KindPKCS11, a non-extractable AES-256 key
// generated in the token named by o.PKCS11, whose descriptor (module, token
// and key label, never the PIN) is written to dataDir/master.key.
func CreateMasterKeyWith(dataDir string, o MasterKeyOptions) (MasterKey, error) {
	seal := o.Seal
	if seal == "" {
		seal = KindFile
		if o.PassphraseFile != "" {
			seal = KindPassphrase
		}
	}
	if seal != KindPKCS11 && o.PINFile != "" {
		return nil, fmt.Errorf("barrier: a PIN file is for a master key in an HSM (--seal pkcs11), not for --seal %s", seal)
	}
	switch seal {
	case KindFile:
		if o.PassphraseFile != "" {
			return nil, errors.New("barrier: --seal file stores the master key raw: remove --passphrase-file, or use --seal passphrase")
		}
	case KindPassphrase:
		if o.PassphraseFile == "" {
			return nil, errors.New("barrier: --seal passphrase needs --passphrase-file")
		}
	case KindPKCS11:
		if o.PassphraseFile != "" {
			return nil, errors.New("barrier: --seal pkcs11 keeps the master key in the token: remove --passphrase-file")
		}
		if err := o.PKCS11.validate(); err != nil {
			return nil, err
		}
		pin, err := readPIN(o, o.PKCS11)
		if err != nil {
			return nil, err
		}
		defer wipe(pin)
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("barrier: create data directory: %w", err)
		}
		path := filepath.Join(dataDir, MasterKeyFile)
		if MasterKeyExists(dataDir) {
			return nil, fmt.Errorf("barrier: %s already exists: refusing to replace a master key", path)
		}
		return createPKCS11MasterKey(path, o.PKCS11, pin)
	default:
		return nil, fmt.Errorf("barrier: unknown master key seal %q: want %s, %s or %s", seal, KindFile, KindPassphrase, KindPKCS11)
	}
	return createFileMasterKey(dataDir, o.PassphraseFile)
}

// createFileMasterKey writes a raw or passphrase-sealed master key.
func createFileMasterKey(dataDir, passphraseFile string) (MasterKey, error) {
	var passphrase []byte
	if passphraseFile != "" {
		p, err := readPassphrase(passphraseFile)
		if err != nil {
			return nil, err
		}
		defer wipe(p)
		passphrase = p
	}
	key := randomKey()
	defer wipe(key)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("barrier: create data directory: %w", err)
	}
	if err := writeMasterKeyFile(filepath.Join(dataDir, MasterKeyFile), key, passphrase, defaultKDF); err != nil {
		return nil, err
	}
	kind := KindFile
	if passphrase != nil {
		kind = KindPassphrase
	}
	return newFileMasterKey(key, kind)
}

// writeMasterKeyFile writes key to a new file at path, sealed under
// passphrase when it is not nil.
func writeMasterKeyFile(path string, key, passphrase []byte, kdf kdfParams) error {
	var content []byte
	if passphrase == nil {
		content = append([]byte(mkMagic), mkVersion, mkModeFile)
		content = append(content, key...)
	} else if fipsEnabled() {
		sealed, err := sealPBKDF2(key, passphrase, pbkdf2Iterations)
		if err != nil {
			return err
		}
		content = sealed
	} else {
		content = append([]byte(mkMagic), mkVersion, mkModePass)
		content = binary.BigEndian.AppendUint32(content, kdf.time)
		content = binary.BigEndian.AppendUint32(content, kdf.memoryKiB)
		content = append(content, kdf.threads)
		salt := make([]byte, saltLen)
		_, _ = rand.Read(salt)
		content = append(content, salt...)
		kek := argon2.IDKey(passphrase, salt, kdf.time, kdf.memoryKiB, kdf.threads, keySize)
		defer wipe(kek)
		aead, err := newAEAD(kek)
		if err != nil {
			return err
		}
		content = aead.Seal(content, nil, key, bytes.Clone(content))
	}
	defer wipe(content)
	return writeNewFile(path, content)
}

// OpenMasterKey reads dataDir/master.key. A passphrase-protected key needs
// passphraseFile; a key in the clear refuses one (so that nobody believes it
// protected). The file must not be accessible to group or others. A PKCS#11
// key takes its PIN from the environment variable PINEnv.
func OpenMasterKey(dataDir, passphraseFile string) (MasterKey, error) {
	return OpenMasterKeyWith(dataDir, MasterKeyOptions{PassphraseFile: passphraseFile})
}

// OpenMasterKeyWith opens dataDir/master.key, whatever its kind: a raw or
// passphrase-sealed key, or the descriptor of a key in a PKCS#11 token,
// which it logs in to with the PIN of o.PINFile (else of PINEnv). A wrong
// PIN returns an error wrapping ErrWrongPIN, a missing token one wrapping
// ErrTokenNotFound; both name the token and module, never the PIN. In FIPS
// 140-3 mode an Argon2id-sealed key is refused (Argon2id is not approved).
func OpenMasterKeyWith(dataDir string, o MasterKeyOptions) (MasterKey, error) {
	return openMasterKey(dataDir, o, false)
}

// openMasterKey is OpenMasterKeyWith; duringRotation lets RotateMasterKey
// open the keys of an unfinished master-key rotation.
func openMasterKey(dataDir string, o MasterKeyOptions, duringRotation bool) (MasterKey, error) {
	if _, err := os.Stat(filepath.Join(dataDir, MasterKeyRotationDir)); err == nil && !duringRotation {
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: %s holds an unfinished master-key rotation (%s): finish it by running the same keywarden masterkey rotate --data-dir %s command again",
				dataDir, MasterKeyRotationDir, dataDir),
			err: ErrMasterKeyRotationPending,
		}
	}
	passphraseFile := o.PassphraseFile
	path := filepath.Join(dataDir, MasterKeyFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("barrier: no master key at %s (run keywarden init): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: open master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("barrier: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 {
		return nil, fmt.Errorf("barrier: %s has mode %04o, open to more than its owner: run chmod 600 %s", path, perm, path)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("barrier: read master key: %w", err)
	}
	defer wipe(content)
	if isDescriptor(content) {
		d, err := parseDescriptor(path, content)
		if err != nil {
			return nil, err
		}
		if passphraseFile != "" {
			return nil, fmt.Errorf("barrier: the master key of %s is in PKCS#11 %s: remove --passphrase-file", dataDir, d.where())
		}
		pin, err := readPIN(o, d.PKCS11Config)
		if err != nil {
			return nil, err
		}
		defer wipe(pin)
		return openPKCS11MasterKey(d, pin)
	}
	if o.PINFile != "" {
		return nil, fmt.Errorf("barrier: %s is not in a PKCS#11 token: remove --pin-file", path)
	}
	if len(content) < mkHeaderLen || string(content[:len(mkMagic)]) != mkMagic {
		return nil, fmt.Errorf("barrier: %s is not a keywarden master key file", path)
	}
	if v := content[len(mkMagic)]; v != mkVersion {
		return nil, fmt.Errorf("barrier: %s has master key file version %d; this keywarden understands %d", path, v, mkVersion)
	}
	switch mode := content[len(mkMagic)+1]; mode {
	case mkModeFile:
		if len(content) != rawFileLen {
			return nil, fmt.Errorf("barrier: %s is corrupted (%d bytes)", path, len(content))
		}
		if passphraseFile != "" {
			return nil, fmt.Errorf("barrier: %s is not passphrase-protected: remove --passphrase-file", path)
		}
		return newFileMasterKey(content[mkHeaderLen:], KindFile)
	case mkModePass:
		if passphraseFile == "" {
			return nil, &detailedError{
				msg: fmt.Sprintf("barrier: %s is passphrase-protected: give --passphrase-file", path),
				err: ErrPassphraseRequired,
			}
		}
		return openPassphraseKey(path, content, passphraseFile)
	case mkModePBKDF2:
		if passphraseFile == "" {
			return nil, &detailedError{
				msg: fmt.Sprintf("barrier: %s is passphrase-protected: give --passphrase-file", path),
				err: ErrPassphraseRequired,
			}
		}
		return openPBKDF2Key(path, content, passphraseFile)
	default:
		return nil, fmt.Errorf("barrier: %s has unknown master key mode %d", path, mode)
	}
}

// openPassphraseKey unseals the master key in content (a mode 2 file).
func openPassphraseKey(path string, content []byte, passphraseFile string) (MasterKey, error) {
	if len(content) != passFileLen {
		return nil, fmt.Errorf("barrier: %s is corrupted (%d bytes)", path, len(content))
	}
	p := content[mkHeaderLen:]
	kdf := kdfParams{
		time:      binary.BigEndian.Uint32(p[0:4]),
		memoryKiB: binary.BigEndian.Uint32(p[4:8]),
		threads:   p[8],
	}
	if err := kdf.check(); err != nil {
		return nil, fmt.Errorf("barrier: %s: %w", path, err)
	}
	if fipsEnabled() {
		return nil, fmt.Errorf("barrier: %s is sealed with Argon2id, which is not FIPS-approved: serve this data directory without FIPS mode (FIPS mode seals new passphrase keys with PBKDF2)", path)
	}
	salt := p[kdfParamsLen : kdfParamsLen+saltLen]
	header := content[:mkHeaderLen+kdfParamsLen+saltLen]
	sealed := content[len(header):]

	passphrase, err := readPassphrase(passphraseFile)
	if err != nil {
		return nil, err
	}
	defer wipe(passphrase)
	kek := argon2.IDKey(passphrase, salt, kdf.time, kdf.memoryKiB, kdf.threads, keySize)
	defer wipe(kek)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, nil, sealed, header)
	if err != nil {
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: wrong passphrase or corrupted master key file %s", path),
			err: ErrWrongPassphrase,
		}
	}
	defer wipe(key)
	return newFileMasterKey(key, KindPassphrase)
}

// readPassphrase returns the content of file without trailing newlines.
func readPassphrase(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("barrier: read passphrase file: %w", err)
	}
	p := bytes.TrimRight(data, "\r\n")
	if len(p) == 0 {
		wipe(data)
		return nil, fmt.Errorf("barrier: passphrase file %s is empty", file)
	}
	return p, nil
}
