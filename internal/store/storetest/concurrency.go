package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// Sizes of the concurrency tests.
const (
	goroutines    = 64
	cmdsPerWorker = 16
	casWorkers    = 16
	casIncrements = 8
)

func testConcurrentApply(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*cmdsPerWorker)
	for g := range goroutines {
		wg.Go(func() {
			for i := range cmdsPerWorker {
				var cmd store.Command
				for _, bucket := range []string{"c1", "c2"} {
					k := fmt.Sprintf("g%02d-%02d", g, i)
					cmd.Put(bucket, []byte(k), []byte("v:"+k))
				}
				if err := s.Apply(context.Background(), cmd); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent apply: %v", err)
	}
	for _, bucket := range []string{"c1", "c2"} {
		keys := scanKeys(t, s, bucket, nil, nil)
		if len(keys) != goroutines*cmdsPerWorker {
			t.Errorf("bucket %s holds %d keys; want %d", bucket, len(keys), goroutines*cmdsPerWorker)
		}
	}
}

// testConcurrentConflicts races commands that all claim the same key: one
// wins, each other caller alone gets ErrConflict, and the winner's value is
// the one kept.
func testConcurrentConflicts(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	results := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			var cmd store.Command
			cmd.RequireAbsent("claim", []byte("k"))
			cmd.Put("claim", []byte("k"), []byte(strconv.Itoa(g)))
			cmd.Put("claim", []byte("by-"+strconv.Itoa(g)), []byte("yes"))
			results[g] = s.Apply(context.Background(), cmd)
		})
	}
	wg.Wait()
	winner := -1
	for g, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both claimed the key", winner, g)
		case err == nil:
			winner = g
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("goroutine %d: %v; want nil or ErrConflict", g, err)
		}
	}
	if winner < 0 {
		t.Fatal("no goroutine claimed the key")
	}
	want(t, s, "claim", "k", []byte(strconv.Itoa(winner)))
	for g := range goroutines {
		var v []byte
		if g == winner {
			v = []byte("yes")
		}
		want(t, s, "claim", "by-"+strconv.Itoa(g), v)
	}
}

// testConcurrentCAS increments a counter with compare-and-swap commands from
// many goroutines; no increment may be lost.
func testConcurrentCAS(t *testing.T, s store.Store) {
	put(t, s, "cas", "n", "0")
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	errs := make(chan error, casWorkers)
	for range casWorkers {
		wg.Go(func() {
			for done := 0; done < casIncrements; {
				cur, err := get(t, s, "cas", "n")
				if err != nil {
					errs <- err
					return
				}
				n, err := strconv.Atoi(string(cur))
				if err != nil {
					errs <- err
					return
				}
				var cmd store.Command
				cmd.RequireEqual("cas", []byte("n"), bytes.Clone(cur))
				cmd.Put("cas", []byte("n"), []byte(strconv.Itoa(n+1)))
				switch err := s.Apply(context.Background(), cmd); {
				case err == nil:
					done++
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("compare-and-swap: %v", err)
	}
	want(t, s, "cas", "n", []byte(strconv.Itoa(casWorkers*casIncrements)))
	t.Logf("%d conflicts retried", conflicts.Load())
}
