package barrier

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBarrier(t, newStore(t), newFileKey(t), Options{})
	tests := []struct {
		name      string
		bucket    string
		key       []byte
		plaintext []byte
	}{
		{"empty plaintext", "objects", []byte("id-1"), nil},
		{"short", "objects", []byte("id-2"), []byte("a secret")},
		{"256 bytes", "objects", []byte("id-3"), bytes.Repeat([]byte{0x5a}, 256)},
		{"1 MiB", "objects", []byte("id-4"), bytes.Repeat([]byte("keywarden"), 1<<17)},
		{"binary key, empty bucket", "", []byte{0, 0xff, 0}, []byte("x")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := b.Seal(tc.bucket, tc.key, tc.plaintext)
			if err != nil {
				t.Fatalf("seal: %v", err)
			}
			if want := sealHeaderLen + gcmOverhead + len(tc.plaintext); len(sealed) != want {
				t.Errorf("sealed %d bytes; want %d", len(sealed), want)
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(sealed, tc.plaintext[:8]) {
				t.Error("sealed value contains the plaintext")
			}
			again, err := b.Seal(tc.bucket, tc.key, tc.plaintext)
			if err != nil {
				t.Fatalf("seal: %v", err)
			}
			if bytes.Equal(again, sealed) {
				t.Error("two seals of the same value are equal: nonce reused")
			}
			for _, s := range [][]byte{sealed, again} {
				got, err := b.Open(tc.bucket, tc.key, s)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if !bytes.Equal(got, tc.plaintext) {
					t.Errorf("open = %q; want %q", got, tc.plaintext)
				}
			}
		})
	}
}

func TestOpenDetectsTampering(t *testing.T) {
	b := newBarrier(t, newStore(t), newFileKey(t), Options{})
	plaintext := []byte("launch code 0000 swordfish")
	sealed, err := b.Seal("objects", []byte("id"), plaintext)
	if err != nil {
		t.Fatal(err)
	}
	genKey := b.ring.Load().gens[0].key
	check := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("open = %v; want ErrTampered", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "swordfish") || strings.Contains(msg, string(genKey)) ||
			strings.Contains(msg, hex.EncodeToString(genKey)) {
			t.Errorf("error text leaks the plaintext or the key: %q", msg)
		}
	}
	for i := range sealed {
		t.Run(fmt.Sprintf("flip byte %d", i), func(t *testing.T) {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			_, err := b.Open("objects", []byte("id"), bad)
			check(t, err)
		})
	}
	for _, n := range []int{0, 1, sealHeaderLen, sealHeaderLen + gcmOverhead - 1, len(sealed) - 1} {
		t.Run(fmt.Sprintf("truncated to %d", n), func(t *testing.T) {
			_, err := b.Open("objects", []byte("id"), sealed[:n])
			check(t, err)
		})
	}
	t.Run("extended", func(t *testing.T) {
		_, err := b.Open("objects", []byte("id"), append(bytes.Clone(sealed), 0))
		check(t, err)
	})
}

func TestOpenRejectsMovedValue(t *testing.T) {
	b := newBarrier(t, newStore(t), newFileKey(t), Options{})
	tests := []struct {
		name                 string
		fromBucket, toBucket string
		fromKey, toKey       string
	}{
		{"another key", "objects", "objects", "id-1", "id-2"},
		{"another bucket", "objects", "names", "id-1", "id-1"},
		{"bytes moved from bucket to key", "ab", "a", "c", "bc"},
		{"key extended", "objects", "objects", "id", "id\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := b.Seal(tc.fromBucket, []byte(tc.fromKey), []byte("value"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Open(tc.toBucket, []byte(tc.toKey), sealed); !errors.Is(err, ErrTampered) {
				t.Errorf("open at %s/%q = %v; want ErrTampered", tc.toBucket, tc.toKey, err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	cs := &countingStore{Store: newStore(t)}
	mk := newFileKey(t)
	opts := Options{RotateAfter: 10, ReserveBlock: 4}
	b := newBarrier(t, cs, mk, opts)

	const n = 100
	sealed := make([][]byte, n)
	usedGens := map[uint32]int{}
	for i := range n {
		var err error
		if sealed[i], err = b.Seal("objects", fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "value %d", i)); err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
		usedGens[binary.BigEndian.Uint32(sealed[i][1:])]++
	}

	// One write creates the keyring, then one per block of 4 seals.
	if got, want := cs.applied.Load(), int64(1+n/4); got != want {
		t.Errorf("%d store writes for %d seals; want %d (one per block)", got, n, want)
	}
	gens := b.Generations()
	// Two blocks of 4 fit under 10 seals per generation: 25 blocks, 13 generations.
	if len(gens) != 13 {
		t.Errorf("%d generations; want 13", len(gens))
	}
	for i, g := range gens {
		if g.Reserved > opts.RotateAfter {
			t.Errorf("generation %d reserved %d seals; want at most %d", g.ID, g.Reserved, opts.RotateAfter)
		}
		if g.Active != (i == len(gens)-1) || g.Created.IsZero() {
			t.Errorf("generation %+v: want only the newest active, and a creation time", g)
		}
		if usedGens[g.ID] > int(g.Reserved) {
			t.Errorf("generation %d sealed %d values but reserved %d", g.ID, usedGens[g.ID], g.Reserved)
		}
	}
	if len(usedGens) != len(gens) {
		t.Errorf("values sealed under %d generations; want %d", len(usedGens), len(gens))
	}

	reopened := newBarrier(t, cs, mk, opts)
	for i, s := range sealed {
		for name, br := range map[string]*Barrier{"same": b, "reopened": reopened} {
			got, err := br.Open("objects", fmt.Appendf(nil, "k%d", i), s)
			if err != nil || string(got) != fmt.Sprintf("value %d", i) {
				t.Fatalf("%s barrier: open value %d = %q, %v", name, i, got, err)
			}
		}
	}
	if fmt.Sprint(reopened.Generations()) != fmt.Sprint(gens) {
		t.Errorf("reopened barrier sees generations %v; want %v", reopened.Generations(), gens)
	}
}

// TestConcurrentBarriersShareKeyring runs two barriers (two processes, or
// two cluster nodes) on one store: their reservations must never overlap.
func TestConcurrentBarriersShareKeyring(t *testing.T) {
	cs := &countingStore{Store: newStore(t)}
	mk := newFileKey(t)
	opts := Options{RotateAfter: 10, ReserveBlock: 4}
	barriers := []*Barrier{newBarrier(t, cs, mk, opts), newBarrier(t, cs, mk, opts)}

	const workers, perWorker = 8, 25
	type result struct {
		key, sealed []byte
	}
	results := make(chan result, len(barriers)*workers*perWorker)
	errs := make(chan error, len(barriers)*workers)
	var wg sync.WaitGroup
	for bi, b := range barriers {
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					key := fmt.Appendf(nil, "b%d-w%d-%d", bi, w, i)
					s, err := b.Seal("objects", key, key)
					if err != nil {
						errs <- err
						return
					}
					results <- result{key, s}
				}
			})
		}
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatalf("seal: %v", err)
	}

	fresh := newBarrier(t, cs, mk, opts)
	var sealedCount int
	for r := range results {
		sealedCount++
		if got, err := fresh.Open("objects", r.key, r.sealed); err != nil || !bytes.Equal(got, r.key) {
			t.Fatalf("open %s = %q, %v", r.key, got, err)
		}
	}
	var reserved uint64
	for _, g := range fresh.Generations() {
		if g.Reserved > opts.RotateAfter {
			t.Errorf("generation %d reserved %d; want at most %d", g.ID, g.Reserved, opts.RotateAfter)
		}
		reserved += g.Reserved
	}
	// Every successful update after the creation reserved one block, and
	// no update was lost.
	if want := uint64(cs.applied.Load()-1) * opts.ReserveBlock; reserved != want {
		t.Errorf("keyring records %d reserved seals; the updates reserved %d", reserved, want)
	}
	if reserved < uint64(sealedCount) {
		t.Errorf("%d seals made but only %d reserved", sealedCount, reserved)
	}
	t.Logf("%d seals, %d reserved, %d conflicts retried", sealedCount, reserved, cs.conflicts.Load())
}

func TestOpenReloadsNewerGenerations(t *testing.T) {
	s := newStore(t)
	mk := newFileKey(t)
	opts := Options{RotateAfter: 4, ReserveBlock: 4}
	a := newBarrier(t, s, mk, opts)
	b := newBarrier(t, s, mk, opts)
	var last []byte
	for i := range 9 { // three blocks, three generations
		var err error
		if last, err = b.Seal("objects", []byte("k"), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.Generations()); n != 1 {
		t.Fatalf("first barrier knows %d generations before reading; want 1", n)
	}
	got, err := a.Open("objects", []byte("k"), last)
	if err != nil || string(got) != "v8" {
		t.Fatalf("open a value from a newer generation = %q, %v", got, err)
	}
	if n := len(a.Generations()); n != 3 {
		t.Errorf("first barrier knows %d generations after reloading; want 3", n)
	}
}

func TestNewRefusesWrongMasterKey(t *testing.T) {
	s := newStore(t)
	newBarrier(t, s, newFileKey(t), Options{})
	_, err := New(t.Context(), s, newFileKey(t), Options{})
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "wrong master key") {
		t.Fatalf("new with another master key = %v; want ErrTampered naming the wrong master key", err)
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"defaults", Options{}, false},
		{"small rotation, default block", Options{RotateAfter: 100}, false},
		{"block larger than rotation", Options{RotateAfter: 10, ReserveBlock: 11}, true},
		{"rotation past 2^32", Options{RotateAfter: 1<<32 + 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(t.Context(), newStore(t), newFileKey(t), tc.opts)
			if (err != nil) != tc.wantErr {
				t.Errorf("new = %v; want error %t", err, tc.wantErr)
			}
		})
	}
}

func TestSealReservesBeforeUse(t *testing.T) {
	s := newStore(t)
	b := newBarrier(t, s, newFileKey(t), Options{})
	s.Close()
	if _, err := b.Seal("objects", []byte("k"), []byte("v")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("seal with no reservation and a closed store = %v; want ErrClosed", err)
	}
}

func TestKeyringNeverInTheClear(t *testing.T) {
	s := newStore(t)
	b := newBarrier(t, s, newFileKey(t), Options{RotateAfter: 4, ReserveBlock: 4})
	for range 10 {
		if _, err := b.Seal("objects", []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	var stored []byte
	err := s.View(func(r store.Reader) error {
		v, err := r.Get(store.SysBucket, []byte(KeyringKey))
		stored = bytes.Clone(v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ring := b.ring.Load()
	secrets := [][]byte{ring.indexKey}
	for _, g := range ring.gens {
		secrets = append(secrets, g.key)
	}
	for _, k := range secrets {
		if bytes.Contains(stored, k[:16]) {
			t.Error("the stored keyring contains key bytes")
		}
	}
}

func TestIndexKey(t *testing.T) {
	s := newStore(t)
	mk := newFileKey(t)
	b := newBarrier(t, s, mk, Options{})
	base := b.IndexKey([]byte("name"), []byte("tape-0001"))
	if len(base) != indexKeyLen {
		t.Fatalf("index key of %d bytes; want %d", len(base), indexKeyLen)
	}
	if bytes.Contains(base, []byte("tape")) {
		t.Error("index key contains the value")
	}
	if again := b.IndexKey([]byte("name"), []byte("tape-0001")); !bytes.Equal(again, base) {
		t.Error("index key is not deterministic")
	}
	if reopened := newBarrier(t, s, mk, Options{}).IndexKey([]byte("name"), []byte("tape-0001")); !bytes.Equal(reopened, base) {
		t.Error("index key changed when the barrier was reopened")
	}
	if other := newBarrier(t, newStore(t), mk, Options{}).IndexKey([]byte("name"), []byte("tape-0001")); bytes.Equal(other, base) {
		t.Error("two keyrings give the same index key")
	}
	differs := map[string][][]byte{
		"another value":          {[]byte("name"), []byte("tape-0002")},
		"parts split elsewhere":  {[]byte("nam"), []byte("etape-0001")},
		"one part":               {[]byte("nametape-0001")},
		"an extra empty part":    {[]byte("name"), []byte("tape-0001"), nil},
		"parts in another order": {[]byte("tape-0001"), []byte("name")},
	}
	for name, parts := range differs {
		if bytes.Equal(b.IndexKey(parts...), base) {
			t.Errorf("%s gives the same index key", name)
		}
	}
}
