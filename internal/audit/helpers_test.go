package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testKey is the chain key of the tests.
var testKey = bytes.Repeat([]byte{0x5a}, 16)

// memAnchor is an in-memory Anchor.
type memAnchor struct {
	mu    sync.Mutex
	head  Head
	fail  bool
	saves int
}

func (a *memAnchor) Load(context.Context) (Head, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.head, nil
}

func (a *memAnchor) Store(_ context.Context, h Head) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return fmt.Errorf("anchor down")
	}
	a.head = h
	a.saves++
	return nil
}

func (a *memAnchor) get() Head {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.head
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // distinct times for distinct rotations
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTrail opens a trail in a fresh directory with cfg's other fields,
// closing it at the end of the test.
func openTrail(t *testing.T, cfg Config) *Trail {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "audit")
	}
	if cfg.ChainKey == nil {
		cfg.ChainKey = testKey
	}
	tr, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// event returns a typical key event numbered i.
func event(i int) Event {
	return Event{
		Time:      time.Date(2026, 11, 25, 12, 0, i, 0, time.UTC),
		Node:      "node-1",
		Type:      TypeKey,
		Protocol:  ProtoDevice,
		Operation: "write-key",
		Client:    Client{DeviceID: "drive-1", Serial: "000007888422", WWN: "500507630240FBCC", Role: "device"},
		Remote:    "127.0.0.1:5000",
		Labels:    []string{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"},
		Volser:    fmt.Sprintf("VOL%03d", i),
		Outcome:   Success,
		Latency:   time.Millisecond,
	}
}

// record records n events numbered from first.
func record(t *testing.T, tr *Trail, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := tr.Record(context.Background(), event(i)); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
}

// readLines returns the lines of path.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
}

// writeLines replaces path's content with lines.
func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 3 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
