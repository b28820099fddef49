package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"go.etcd.io/bbolt"
)

// FormatVersion is the on-disk format this keywarden writes. It is kept,
// unsealed, as a big-endian uint32 at SysBucket/"format".
//
// History:
//
//	1  pre-release: the version lived in bucket "meta", key "version"
//	   (big-endian uint32); there was no "sys" bucket.
//	2  the version moved to "sys"/"format", next to the barrier's keyring;
//	   bucket "meta" is gone.
const FormatVersion uint32 = 2

// Names used by format version 1.
const (
	v1MetaBucket = "meta"
	v1VersionKey = "version"
)

// migrations[v] upgrades a file from format v to v+1 inside the
// transaction it is given. Every version below FormatVersion has one.
var migrations = map[uint32]func(tx *bbolt.Tx) error{
	1: migrateV1toV2,
}

// migrateV1toV2 drops the version 1 "meta"/"version" record (the caller
// then writes "sys"/"format") and the "meta" bucket once it is empty.
func migrateV1toV2(tx *bbolt.Tx) error {
	meta := tx.Bucket([]byte(v1MetaBucket))
	if meta == nil {
		return nil
	}
	if err := meta.Delete([]byte(v1VersionKey)); err != nil {
		return err
	}
	if k, _ := meta.Cursor().First(); k == nil {
		return tx.DeleteBucket([]byte(v1MetaBucket))
	}
	return nil
}

// checkFormat stamps a new file with FormatVersion, upgrades an older file
// in one transaction, and refuses a newer one.
func checkFormat(db *bbolt.DB, path string, logger *slog.Logger) error {
	var version uint32
	if err := db.View(func(tx *bbolt.Tx) error {
		var err error
		version, err = readFormat(tx, path)
		return err
	}); err != nil {
		return err
	}
	switch {
	case version == FormatVersion:
		return nil
	case version > FormatVersion:
		return fmt.Errorf("store: %s has format version %d; this keywarden understands up to %d: upgrade keywarden",
			path, version, FormatVersion)
	case version == 0:
		if err := db.Update(func(tx *bbolt.Tx) error { return writeFormat(tx, FormatVersion) }); err != nil {
			return fmt.Errorf("store: initialise %s: %w", path, err)
		}
		logger.Info("store: created", "path", path, "format", FormatVersion)
		return nil
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for v := version; v < FormatVersion; v++ {
			migrate, ok := migrations[v]
			if !ok {
				return fmt.Errorf("no upgrade from format version %d", v)
			}
			if err := migrate(tx); err != nil {
				return fmt.Errorf("upgrade from format version %d: %w", v, err)
			}
			if err := writeFormat(tx, v+1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: upgrade %s: %w", path, err)
	}
	logger.Info("store: upgraded on-disk format", "path", path, "from", version, "to", FormatVersion)
	return nil
}

// readFormat returns the file's format version, or 0 for a file with no
// buckets at all (a new file).
func readFormat(tx *bbolt.Tx, path string) (uint32, error) {
	if sys := tx.Bucket([]byte(SysBucket)); sys != nil {
		return decodeVersion(sys.Get([]byte(formatKey)), path)
	}
	if meta := tx.Bucket([]byte(v1MetaBucket)); meta != nil {
		v, err := decodeVersion(meta.Get([]byte(v1VersionKey)), path)
		if err != nil {
			return 0, err
		}
		if v != 1 {
			return 0, fmt.Errorf("store: %s: unexpected version %d in bucket %q", path, v, v1MetaBucket)
		}
		return 1, nil
	}
	if k, _ := tx.Cursor().First(); k != nil {
		return 0, fmt.Errorf("store: %s is not a keywarden store: it has no format version", path)
	}
	return 0, nil
}

// decodeVersion parses a stored version record.
func decodeVersion(raw []byte, path string) (uint32, error) {
	if raw == nil {
		return 0, fmt.Errorf("store: %s is not a keywarden store: it has no format version", path)
	}
	if len(raw) != 4 {
		return 0, fmt.Errorf("store: %s: corrupted format version (%d bytes)", path, len(raw))
	}
	v := binary.BigEndian.Uint32(raw)
	if v == 0 {
		return 0, fmt.Errorf("store: %s: corrupted format version 0", path)
	}
	return v, nil
}

// writeFormat records version at SysBucket/"format".
func writeFormat(tx *bbolt.Tx, version uint32) error {
	sys, err := tx.CreateBucketIfNotExists([]byte(SysBucket))
	if err != nil {
		return err
	}
	return sys.Put([]byte(formatKey), binary.BigEndian.AppendUint32(nil, version))
}
