// Package storetest is the conformance suite for store.Store: every
// implementation (bbolt today, a replicated store later) runs the same tests,
// so callers can rely on the same behaviour from all of them.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store each
// time it is called (it may hold the store's own records in store.SysBucket,
// which the suite does not use); Run closes every store it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Errorf("close: %v", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetOverwriteDelete", testPutGetOverwriteDelete},
		{"EmptyValue", testEmptyValue},
		{"BucketsAreSeparate", testBucketsAreSeparate},
		{"ScanOrderPrefixStart", testScan},
		{"ScanStops", testScanStops},
		{"ViewReturnsCallbackError", testViewError},
		{"Preconditions", testPreconditions},
		{"InvalidCommands", testInvalidCommands},
		{"EmptyCommand", testEmptyCommand},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentApply", testConcurrentApply},
		{"ConcurrentConflicts", testConcurrentConflicts},
		{"ConcurrentCompareAndSwap", testConcurrentCAS},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

// apply applies cmd and fails the test on error.
func apply(t *testing.T, s store.Store, cmd store.Command) {
	t.Helper()
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// put writes one value.
func put(t *testing.T, s store.Store, bucket, key, value string) {
	t.Helper()
	var cmd store.Command
	cmd.Put(bucket, []byte(key), []byte(value))
	apply(t, s, cmd)
}

// get returns a copy of the value at bucket/key, or the error of Get.
func get(t *testing.T, s store.Store, bucket, key string) ([]byte, error) {
	t.Helper()
	var out []byte
	err := s.View(func(r store.Reader) error {
		v, err := r.Get(bucket, []byte(key))
		if err != nil {
			return err
		}
		out = bytes.Clone(v)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	return out, err
}

// want checks that bucket/key holds value; a nil value means absent.
func want(t *testing.T, s store.Store, bucket, key string, value []byte) {
	t.Helper()
	got, err := get(t, s, bucket, key)
	switch {
	case value == nil && !errors.Is(err, store.ErrNotFound):
		t.Errorf("get %s/%q = %q, %v; want ErrNotFound", bucket, key, got, err)
	case value != nil && err != nil:
		t.Errorf("get %s/%q: %v; want %q", bucket, key, err, value)
	case value != nil && !bytes.Equal(got, value):
		t.Errorf("get %s/%q = %q; want %q", bucket, key, got, value)
	}
}

// scanKeys returns the keys Scan visits, checking each value is "v:"+key.
func scanKeys(t *testing.T, s store.Store, bucket string, prefix, start []byte) []string {
	t.Helper()
	var keys []string
	err := s.View(func(r store.Reader) error {
		return r.Scan(bucket, prefix, start, func(k, v []byte) (bool, error) {
			if string(v) != "v:"+string(k) {
				t.Errorf("scan: key %q has value %q", k, v)
			}
			keys = append(keys, string(k))
			return true, nil
		})
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

func testGetMissing(t *testing.T, s store.Store) {
	want(t, s, "nobucket", "k", nil)
	put(t, s, "b", "k", "v")
	want(t, s, "b", "other", nil)
	want(t, s, "b", "k", []byte("v"))
}

func testPutGetOverwriteDelete(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "one")
	want(t, s, "b", "k", []byte("one"))
	put(t, s, "b", "k", "two")
	want(t, s, "b", "k", []byte("two"))

	var del store.Command
	del.Delete("b", []byte("k"))
	apply(t, s, del)
	want(t, s, "b", "k", nil)

	// Deleting what is already gone, or in a bucket that never existed, is
	// not an error.
	apply(t, s, del)
	var delMissing store.Command
	delMissing.Delete("never", []byte("k"))
	apply(t, s, delMissing)

	// Binary keys and values survive unchanged.
	binKey := []byte{0, 1, 2, 0xff}
	binValue := []byte{0xff, 0, 0xfe}
	var cmd store.Command
	cmd.Put("b", binKey, binValue)
	apply(t, s, cmd)
	want(t, s, "b", string(binKey), binValue)
}

func testEmptyValue(t *testing.T, s store.Store) {
	for _, v := range [][]byte{nil, {}} {
		var cmd store.Command
		cmd.Put("b", []byte("empty"), v)
		apply(t, s, cmd)
		want(t, s, "b", "empty", []byte{})

		var absent store.Command
		absent.RequireAbsent("b", []byte("empty"))
		if err := s.Apply(context.Background(), absent); !errors.Is(err, store.ErrConflict) {
			t.Errorf("require-absent on an empty value: %v; want ErrConflict", err)
		}
		var equal store.Command
		equal.RequireEqual("b", []byte("empty"), nil)
		equal.RequireEqual("b", []byte("empty"), []byte{})
		apply(t, s, equal)
	}
	var n int
	err := s.View(func(r store.Reader) error {
		return r.Scan("b", nil, nil, func(k, v []byte) (bool, error) {
			n++
			if string(k) != "empty" || len(v) != 0 {
				t.Errorf("scan: %q = %q", k, v)
			}
			return true, nil
		})
	})
	if err != nil || n != 1 {
		t.Errorf("scan: %d entries, %v; want 1, nil", n, err)
	}
}

func testBucketsAreSeparate(t *testing.T, s store.Store) {
	put(t, s, "one", "k", "1")
	put(t, s, "two", "k", "2")
	want(t, s, "one", "k", []byte("1"))
	want(t, s, "two", "k", []byte("2"))
	if keys := scanKeys(t, s, "three", nil, nil); len(keys) != 0 {
		t.Errorf("scan of a missing bucket visited %q", keys)
	}
}

func testScan(t *testing.T, s store.Store) {
	all := []string{"\x00", "a", "b/1", "b/10", "b/2", "b/3", "ba", "c", "\xff"}
	var cmd store.Command
	for _, i := range rand.Perm(len(all)) {
		k := all[i]
		cmd.Put("scan", []byte(k), []byte("v:"+k))
	}
	apply(t, s, cmd)

	tests := []struct {
		name          string
		prefix, start string
		want          []string
	}{
		{"everything", "", "", all},
		{"prefix", "b/", "", []string{"b/1", "b/10", "b/2", "b/3"}},
		{"prefix and start inside", "b/", "b/2", []string{"b/2", "b/3"}},
		{"start between keys", "b/", "b/11", []string{"b/2", "b/3"}},
		{"start exactly a key", "b/", "b/10", []string{"b/10", "b/2", "b/3"}},
		{"start before prefix", "b/", "a", []string{"b/1", "b/10", "b/2", "b/3"}},
		{"start after prefix range", "b/", "c", nil},
		{"start without prefix", "", "b", []string{"b/1", "b/10", "b/2", "b/3", "ba", "c", "\xff"}},
		{"prefix equal to a key", "ba", "", []string{"ba"}},
		{"no match", "zz", "", nil},
		{"start past the end", "", "\xff\xff", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prefix, start []byte
			if tc.prefix != "" {
				prefix = []byte(tc.prefix)
			}
			if tc.start != "" {
				start = []byte(tc.start)
			}
			got := scanKeys(t, s, "scan", prefix, start)
			if !slices.Equal(got, tc.want) {
				t.Errorf("scan(prefix %q, start %q) = %q; want %q", tc.prefix, tc.start, got, tc.want)
			}
		})
	}
}

func testScanStops(t *testing.T, s store.Store) {
	var cmd store.Command
	for i := range 10 {
		k := fmt.Sprintf("k%02d", i)
		cmd.Put("b", []byte(k), []byte("v:"+k))
	}
	apply(t, s, cmd)

	var seen []string
	err := s.View(func(r store.Reader) error {
		return r.Scan("b", nil, nil, func(k, _ []byte) (bool, error) {
			seen = append(seen, string(k))
			return len(seen) < 3, nil
		})
	})
	if err != nil || !slices.Equal(seen, []string{"k00", "k01", "k02"}) {
		t.Errorf("scan stopped by false: %q, %v; want the first three keys, nil", seen, err)
	}

	errStop := errors.New("stop here")
	calls := 0
	err = s.View(func(r store.Reader) error {
		return r.Scan("b", nil, nil, func(_, _ []byte) (bool, error) {
			calls++
			return true, errStop
		})
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("scan stopped by an error: %d calls, %v; want 1 call, %v", calls, err, errStop)
	}
}

func testViewError(t *testing.T, s store.Store) {
	errMine := errors.New("mine")
	if err := s.View(func(store.Reader) error { return errMine }); !errors.Is(err, errMine) {
		t.Errorf("View = %v; want the callback's error", err)
	}
}
