package store_test

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/keywarden/keywarden/internal/store"
)

// rawFile creates a bbolt file at a new path and lets fill write into it
// with raw bbolt calls, the way an older keywarden would have.
func rawFile(t *testing.T, fill func(tx *bbolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keywarden.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawVersion reads sys/format from a closed store file.
func rawVersion(t *testing.T, path string) (version uint32, metaLeft bool) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		metaLeft = tx.Bucket([]byte("meta")) != nil
		if sys := tx.Bucket([]byte(store.SysBucket)); sys != nil {
			if v := sys.Get([]byte("format")); len(v) == 4 {
				version = binary.BigEndian.Uint32(v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return version, metaLeft
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestNewFileGetsCurrentVersion(t *testing.T) {
	s := openTemp(t)
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rawVersion(t, path); v != store.FormatVersion {
		t.Errorf("new file has format %d; want %d", v, store.FormatVersion)
	}
}

func TestUpgradeFromV1(t *testing.T) {
	// A version 1 file: the version in meta/version, data in its buckets.
	path := rawFile(t, func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("version"), be32(1)); err != nil {
			return err
		}
		objects, err := tx.CreateBucket([]byte("objects"))
		if err != nil {
			return err
		}
		return objects.Put([]byte("id-1"), []byte("sealed bytes"))
	})

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := store.OpenBolt(path, store.BoltOptions{Logger: logger})
	if err != nil {
		t.Fatalf("open v1 file: %v", err)
	}
	err = s.View(func(r store.Reader) error {
		v, err := r.Get("objects", []byte("id-1"))
		if err == nil && string(v) != "sealed bytes" {
			t.Errorf("object after upgrade = %q", v)
		}
		return err
	})
	if err != nil {
		t.Errorf("object after upgrade: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	v, metaLeft := rawVersion(t, path)
	if v != store.FormatVersion {
		t.Errorf("upgraded file has format %d; want %d", v, store.FormatVersion)
	}
	if metaLeft {
		t.Error("bucket meta is still there after the upgrade")
	}
	if !strings.Contains(logs.String(), "upgraded") || !strings.Contains(logs.String(), "from=1") {
		t.Errorf("upgrade not logged; log: %s", logs.String())
	}

	// A second open finds nothing to do.
	logs.Reset()
	s, err = store.OpenBolt(path, store.BoltOptions{Logger: logger})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
	if strings.Contains(logs.String(), "upgraded") {
		t.Errorf("second open upgraded again; log: %s", logs.String())
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		fill    func(tx *bbolt.Tx) error
		wantMsg string
	}{
		{
			name: "newer version",
			fill: func(tx *bbolt.Tx) error {
				sys, err := tx.CreateBucket([]byte(store.SysBucket))
				if err != nil {
					return err
				}
				return sys.Put([]byte("format"), be32(store.FormatVersion+1))
			},
			wantMsg: "has format version 3; this keywarden understands up to 2: upgrade keywarden",
		},
		{
			name: "corrupted version",
			fill: func(tx *bbolt.Tx) error {
				sys, err := tx.CreateBucket([]byte(store.SysBucket))
				if err != nil {
					return err
				}
				return sys.Put([]byte("format"), []byte{1, 2})
			},
			wantMsg: "corrupted format version",
		},
		{
			name: "another program's file",
			fill: func(tx *bbolt.Tx) error {
				_, err := tx.CreateBucket([]byte("somethingelse"))
				return err
			},
			wantMsg: "is not a keywarden store",
		},
		{
			name: "unknown version 1 record",
			fill: func(tx *bbolt.Tx) error {
				meta, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return meta.Put([]byte("version"), be32(7))
			},
			wantMsg: "unexpected version 7",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := rawFile(t, tc.fill)
			s, err := store.OpenBolt(path, store.BoltOptions{})
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file and say %q", err, tc.wantMsg)
			}
			// The refused file was released and left as it was.
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 100e6})
			if err != nil {
				t.Fatalf("file still locked after a refused open: %v", err)
			}
			db.Close()
		})
	}
}
