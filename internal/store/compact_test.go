package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keywarden.db")
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gone := bytes.Repeat([]byte("GONE-VALUE-"), 400) // spans pages: easy to find
	live := bytes.Repeat([]byte("LIVE-VALUE-"), 400)
	var cmd store.Command
	for i := range 50 {
		cmd.Put("objects", []byte{byte(i)}, append(gone, byte(i)))
	}
	if err := s.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	cmd = store.Command{}
	for i := range 50 {
		if i%2 == 0 {
			cmd.Delete("objects", []byte{byte(i)})
		} else {
			cmd.Put("objects", []byte{byte(i)}, append(live, byte(i)))
		}
	}
	if err := s.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkCompactPending(path); err != nil {
		t.Fatal(err)
	}
	if err := store.Compact(path, nil); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("compact a file in use: %v; want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(before, gone[:200]) {
		t.Fatal("the overwritten values are not on the free pages: the test proves nothing")
	}
	done, err := store.CompactIfPending(path, nil)
	if err != nil || !done {
		t.Fatalf("CompactIfPending = %v, %v", done, err)
	}
	if store.CompactPending(path) {
		t.Error("marker left behind")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(after, gone[:200]) {
		t.Error("the compacted file still holds overwritten values")
	}
	if matches, _ := filepath.Glob(path + ".compact*"); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	s, err = store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	err = s.View(func(r store.Reader) error {
		return r.Scan("objects", nil, nil, func(k, v []byte) (bool, error) {
			n++
			if k[0]%2 == 0 || !bytes.Equal(v, append(live, k[0])) {
				t.Errorf("record %d wrong after compaction", k[0])
			}
			return true, nil
		})
	})
	if err != nil || n != 25 {
		t.Fatalf("%d records after compaction, %v; want 25", n, err)
	}
	if done, err := store.CompactIfPending(path, nil); err != nil || done {
		t.Errorf("CompactIfPending without a marker = %v, %v", done, err)
	}
}
