package barrier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// putSealed seals and stores n records in bucket, returning them by key.
func putSealed(t *testing.T, s store.Store, b *Barrier, bucket string, n int) map[string][]byte {
	t.Helper()
	want := map[string][]byte{}
	var cmd store.Command
	for i := range n {
		k := fmt.Sprintf("rec-%05d", i)
		plain := []byte("secret value " + k)
		sealed, err := b.Seal(bucket, []byte(k), plain)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Put(bucket, []byte(k), sealed)
		want[k] = plain
	}
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	return want
}

// checkAll opens every record of bucket with b and checks its generation.
func checkAll(t *testing.T, s store.Store, b *Barrier, bucket string, want map[string][]byte, gen uint32) {
	t.Helper()
	got := 0
	err := s.View(func(r store.Reader) error {
		return r.Scan(bucket, nil, nil, func(k, v []byte) (bool, error) {
			got++
			plain, err := b.Open(bucket, k, v)
			if err != nil {
				return false, fmt.Errorf("open %s: %w", k, err)
			}
			if !bytes.Equal(plain, want[string(k)]) {
				return false, fmt.Errorf("record %s: wrong plaintext", k)
			}
			if id, _ := sealedUnder(v); gen != 0 && id != gen {
				return false, fmt.Errorf("record %s under generation %d; want %d", k, id, gen)
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Fatalf("%d records in %s; want %d", got, bucket, len(want))
	}
}

func TestKeyringRotation(t *testing.T) {
	tests := []struct {
		name       string
		records    int
		pauseAfter uint64 // interrupt the first run after this many records
	}{
		{"empty store", 0, 0},
		{"one batch", 10, 0},
		{"several batches", 3*rotateBatch + 7, 0},
		{"interrupted and resumed", 3*rotateBatch + 7, rotateBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			mk := newFileKey(t)
			b := newBarrier(t, s, mk, Options{})
			want := putSealed(t, s, b, "objects", tc.records)
			other := putSealed(t, s, b, "usage", 3)
			// A record of a destroyed object, copied aside before rotation.
			destroyedKey := []byte("destroyed")
			destroyed, err := b.Seal("objects", destroyedKey, []byte("gone"))
			if err != nil {
				t.Fatal(err)
			}

			st, err := b.StartKeyringRotation(context.Background())
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if st.Total != uint64(tc.records+3) || len(st.Retire) != 1 || st.Target != 2 {
				t.Fatalf("start status %+v; want total %d, retire [1], target 2", st, tc.records+3)
			}
			if _, err := b.StartKeyringRotation(context.Background()); !errors.Is(err, ErrRotationRunning) {
				t.Fatalf("second start: %v; want ErrRotationRunning", err)
			}
			if tc.pauseAfter > 0 {
				ctx, cancel := context.WithCancel(context.Background())
				_, err := b.RunKeyringRotation(ctx, RotateOptions{PauseAfter: tc.pauseAfter, OnPause: func(RotationStatus) { cancel() }})
				if err == nil {
					t.Fatal("paused run returned no error")
				}
				// A new process (a new barrier over the same store) resumes.
				b = newBarrier(t, s, mk, Options{})
				mid, err := b.KeyringRotation()
				if err != nil || !mid.InProgress || mid.Resealed != tc.pauseAfter {
					t.Fatalf("after interruption: %+v, %v; want in progress, %d resealed", mid, err, tc.pauseAfter)
				}
				// Both generations still open records meanwhile.
				checkAll(t, s, b, "objects", want, 0)
			}
			var calls int
			done, err := b.RunKeyringRotation(context.Background(), RotateOptions{Progress: func(RotationStatus) { calls++ }})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if done.InProgress || done.Finished.IsZero() || done.Resealed != uint64(tc.records+3) {
				t.Errorf("final status %+v; want finished with %d resealed", done, tc.records+3)
			}
			if calls == 0 {
				t.Error("no progress reported")
			}
			checkAll(t, s, b, "objects", want, 2)
			checkAll(t, s, b, "usage", other, 2)
			if gens := b.Generations(); len(gens) != 1 || gens[0].ID != 2 || !gens[0].Active {
				t.Errorf("generations %+v; want only 2, active", gens)
			}
			if _, err := b.Open("objects", destroyedKey, destroyed); !errors.Is(err, ErrTampered) {
				t.Errorf("open the copied record of a destroyed object: %v; want ErrTampered", err)
			}
			// So does a fresh process: the old generation is gone from the store.
			fresh := newBarrier(t, s, mk, Options{})
			if _, err := fresh.Open("objects", destroyedKey, destroyed); !errors.Is(err, ErrTampered) {
				t.Errorf("fresh barrier opens the destroyed record: %v", err)
			}
			if _, err := b.RunKeyringRotation(context.Background(), RotateOptions{}); !errors.Is(err, ErrNoRotation) {
				t.Errorf("run with nothing in progress: %v; want ErrNoRotation", err)
			}
		})
	}
}

// rewriteWhile seals and writes the values of want again, one after the
// other and round again, through b until stop is closed; errc then yields
// the first error, or is closed without one.
func rewriteWhile(s store.Store, b *Barrier, bucket string, want map[string][]byte) (stop chan struct{}, errc chan error) {
	keys := slices.Sorted(maps.Keys(want))
	stop, errc = make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(errc)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[i%len(keys)]
			sealed, err := b.Seal(bucket, []byte(k), want[k])
			if err == nil {
				var cmd store.Command
				cmd.Put(bucket, []byte(k), sealed)
				err = s.Apply(context.Background(), cmd)
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	return stop, errc
}

// TestKeyringRotationConcurrentWriter checks that values written during a
// rotation stay readable after it.
func TestKeyringRotationConcurrentWriter(t *testing.T) {
	s := newStore(t)
	b := newBarrier(t, s, newFileKey(t), Options{})
	want := putSealed(t, s, b, "objects", 600)
	if _, err := b.StartKeyringRotation(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop, errc := rewriteWhile(s, b, "objects", want)
	_, err := b.RunKeyringRotation(context.Background(), RotateOptions{})
	close(stop)
	if werr := <-errc; werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkAll(t, s, b, "objects", want, 2)
}

// TestKeyringRotationOtherNode: another barrier over the same store (a
// cluster node) holds a reservation on the old generation; it notices the
// rotation and its values written during it stay readable after it.
func TestKeyringRotationOtherNode(t *testing.T) {
	s := newStore(t)
	mk := newFileKey(t)
	rotating := newBarrier(t, s, mk, Options{})
	other := newBarrier(t, s, mk, Options{})
	want := putSealed(t, s, other, "objects", 300) // other's lease is on generation 1
	if _, err := rotating.StartKeyringRotation(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop, errc := rewriteWhile(s, other, "objects", want)
	_, err := rotating.RunKeyringRotation(context.Background(), RotateOptions{})
	close(stop)
	if werr := <-errc; werr != nil {
		t.Fatalf("other node: %v", werr)
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkAll(t, s, rotating, "objects", want, 2)
	checkAll(t, s, other, "objects", want, 2)
}

// TestKeyringRotationUnreadable: a record that does not open where it is
// stored keeps the old generation unless the caller allows destroying it.
func TestKeyringRotationUnreadable(t *testing.T) {
	s := newStore(t)
	b := newBarrier(t, s, newFileKey(t), Options{})
	putSealed(t, s, b, "objects", 5)
	misplaced, err := b.Seal("objects", []byte("elsewhere"), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	var cmd store.Command
	cmd.Put("objects", []byte("zz-misplaced"), misplaced)
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartKeyringRotation(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := b.RunKeyringRotation(context.Background(), RotateOptions{})
	if err == nil || st.Unreadable != 1 {
		t.Fatalf("run with an unreadable record: %+v, %v; want it refused, 1 unreadable", st, err)
	}
	if gens := b.Generations(); len(gens) != 2 {
		t.Fatalf("generations %+v; want the old one kept", gens)
	}
	if pt, err := b.Open("objects", []byte("elsewhere"), misplaced); err != nil || string(pt) != "x" {
		t.Fatalf("the misplaced record no longer opens for its owner: %v", err)
	}
	st, err = b.RunKeyringRotation(context.Background(), RotateOptions{DestroyUnreadable: true})
	if err != nil || st.Unreadable != 1 || st.InProgress {
		t.Fatalf("run with DestroyUnreadable: %+v, %v", st, err)
	}
	if gens := b.Generations(); len(gens) != 1 {
		t.Errorf("generations %+v; want only the new one", gens)
	}
}
