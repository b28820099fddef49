package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// entry is an expected state of bucket/key; a nil value means absent.
type entry struct {
	bucket, key string
	value       []byte
}

func testPreconditions(t *testing.T, s store.Store) {
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name    string
		cmd     func(c *store.Command)
		wantErr error
		after   []entry
	}{
		{
			name: "require-absent on a present key",
			cmd: func(c *store.Command) {
				c.Put("p", b("new"), b("x"))
				c.RequireAbsent("p", b("present"))
			},
			wantErr: store.ErrConflict,
			after:   []entry{{"p", "new", nil}, {"p", "present", b("old")}},
		},
		{
			name: "require-absent on an absent key",
			cmd: func(c *store.Command) {
				c.RequireAbsent("p", b("new"))
				c.RequireAbsent("nobucket", b("new"))
				c.Put("p", b("new"), b("x"))
			},
			after: []entry{{"p", "new", b("x")}},
		},
		{
			name: "require-equal on a missing key",
			cmd: func(c *store.Command) {
				c.Put("p", b("new"), b("x"))
				c.RequireEqual("p", b("missing"), b("old"))
			},
			wantErr: store.ErrConflict,
			after:   []entry{{"p", "new", nil}},
		},
		{
			name: "require-equal in a missing bucket",
			cmd: func(c *store.Command) {
				c.Put("fresh", b("k"), b("x"))
				c.RequireEqual("nobucket", b("present"), b("old"))
			},
			wantErr: store.ErrConflict,
			after:   []entry{{"fresh", "k", nil}},
		},
		{
			name: "require-equal on another value",
			cmd: func(c *store.Command) {
				c.Put("p", b("present"), b("changed"))
				c.RequireEqual("p", b("present"), b("ol"))
			},
			wantErr: store.ErrConflict,
			after:   []entry{{"p", "present", b("old")}},
		},
		{
			name: "require-equal on the value",
			cmd: func(c *store.Command) {
				c.RequireEqual("p", b("present"), b("old"))
				c.Put("p", b("present"), b("changed"))
			},
			after: []entry{{"p", "present", b("changed")}},
		},
		{
			name: "ops see earlier ops of the same command",
			cmd: func(c *store.Command) {
				c.Put("p", b("a"), b("1"))
				c.RequireEqual("p", b("a"), b("1"))
				c.Delete("p", b("present"))
				c.RequireAbsent("p", b("present"))
			},
			after: []entry{{"p", "a", b("1")}, {"p", "present", nil}},
		},
		{
			name: "a late failure undoes every earlier op",
			cmd: func(c *store.Command) {
				c.Put("p", b("a"), b("1"))
				c.Delete("p", b("present"))
				c.Put("q", b("b"), b("2"))
				c.RequireAbsent("p", b("a"))
			},
			wantErr: store.ErrConflict,
			after:   []entry{{"p", "a", nil}, {"p", "present", b("old")}, {"q", "b", nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reset store.Command
			reset.Put("p", b("present"), b("old"))
			reset.Delete("p", b("new"))
			reset.Delete("p", b("a"))
			apply(t, s, reset)

			var cmd store.Command
			tc.cmd(&cmd)
			err := s.Apply(context.Background(), cmd)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("apply: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("apply = %v; want %v", err, tc.wantErr)
			}
			for _, e := range tc.after {
				want(t, s, e.bucket, e.key, e.value)
			}
		})
	}
}

func testInvalidCommands(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		op   store.Op
	}{
		{"empty bucket", store.Op{Kind: store.OpPut, Key: []byte("k"), Value: []byte("v")}},
		{"empty key", store.Op{Kind: store.OpPut, Bucket: "b", Value: []byte("v")}},
		{"key too long", store.Op{Kind: store.OpPut, Bucket: "b", Key: make([]byte, store.MaxKeySize+1)}},
		{"unknown kind", store.Op{Kind: 99, Bucket: "b", Key: []byte("k")}},
		{"zero kind", store.Op{Bucket: "b", Key: []byte("k")}},
		{"write the format version", store.Op{Kind: store.OpPut, Bucket: store.SysBucket, Key: []byte("format"), Value: []byte{0, 0, 0, 9}}},
		{"delete the format version", store.Op{Kind: store.OpDelete, Bucket: store.SysBucket, Key: []byte("format")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cmd store.Command
			cmd.Put("b", []byte("before"), []byte("x"))
			cmd.Ops = append(cmd.Ops, tc.op)
			if err := s.Apply(context.Background(), cmd); !errors.Is(err, store.ErrInvalidCommand) {
				t.Fatalf("apply = %v; want ErrInvalidCommand", err)
			}
			want(t, s, "b", "before", nil)
		})
	}
}

func testEmptyCommand(t *testing.T, s store.Store) {
	apply(t, s, store.Command{})
}

func testCancelledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var cmd store.Command
	cmd.Put("b", []byte("k"), []byte("v"))
	if err := s.Apply(ctx, cmd); !errors.Is(err, context.Canceled) {
		t.Fatalf("apply with a cancelled context = %v; want context.Canceled", err)
	}
	want(t, s, "b", "k", nil)
}

func testClose(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var cmd store.Command
	cmd.Put("b", []byte("k2"), []byte("v"))
	if err := s.Apply(context.Background(), cmd); !errors.Is(err, store.ErrClosed) {
		t.Errorf("apply after close = %v; want ErrClosed", err)
	}
	called := false
	err := s.View(func(store.Reader) error { called = true; return nil })
	if !errors.Is(err, store.ErrClosed) || called {
		t.Errorf("view after close = %v (callback run: %t); want ErrClosed, not run", err, called)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close = %v; want nil", err)
	}
}
