package barrier

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A sealed file: magic "KWSF" | version 1 | MasterKey.Wrap(plaintext, aad)
// with aad = "keywarden sealed file\x00" + purpose, so a file sealed for one
// purpose, or any other value wrapped by the master key, cannot stand in
// for another.
const (
	sealedFileMagic          = "KWSF"
	sealedFileVersion   byte = 1
	sealedFileAADPrefix      = "keywarden sealed file\x00"
)

// SealFile wraps plaintext under mk for purpose (for example "pki ca key")
// and writes it to path with mode 0600, atomically: a crash leaves the old
// file or the new one, never a mix.
func SealFile(mk MasterKey, path, purpose string, plaintext []byte) error {
	wrapped, err := mk.Wrap(plaintext, []byte(sealedFileAADPrefix+purpose))
	if err != nil {
		return fmt.Errorf("barrier: seal %s: %w", path, err)
	}
	content := append([]byte(sealedFileMagic), sealedFileVersion)
	content = append(content, wrapped...)

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("barrier: seal %s: %w", path, err)
	}
	_, err = tmp.Write(content)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("barrier: seal %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("barrier: seal %s: %w", path, err)
	}
	return nil
}

// OpenFile reads a file SealFile wrote for the same purpose and returns its
// plaintext. A changed file, another purpose or another master key gives an
// error wrapping ErrTampered.
func OpenFile(mk MasterKey, path, purpose string) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("barrier: open sealed file: %w", err)
	}
	header := len(sealedFileMagic) + 1
	if len(content) < header || string(content[:len(sealedFileMagic)]) != sealedFileMagic {
		return nil, fmt.Errorf("barrier: %s is not a keywarden sealed file", path)
	}
	if v := content[len(sealedFileMagic)]; v != sealedFileVersion {
		return nil, fmt.Errorf("barrier: %s has sealed file version %d; this keywarden understands %d", path, v, sealedFileVersion)
	}
	plain, err := mk.Unwrap(content[header:], []byte(sealedFileAADPrefix+purpose))
	if err != nil {
		if errors.Is(err, ErrTampered) {
			return nil, fmt.Errorf("barrier: open %s (sealed %q under another master key, for another purpose, or changed): %w", path, purpose, err)
		}
		return nil, fmt.Errorf("barrier: open %s: %w", path, err)
	}
	return plain, nil
}
