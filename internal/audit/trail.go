package audit

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Trail is the audit trail: a Recorder writing HMAC-chained JSON lines to
// a rotating file (and optionally to syslog). It is safe for concurrent
// use. Build it with Open and release it with Close.
type Trail struct {
	cfg  Config
	log  *slog.Logger
	path string

	mu      sync.Mutex
	mac     hash.Hash
	buf     []byte      // the last record's line, reused for the next
	f       *os.File    // nil while the file is unavailable
	id      os.FileInfo // identity of f, to notice a file moved or removed
	checked time.Time   // when id was last compared with the path
	size    int64
	seq     uint64 // last seq written
	prev    string // MAC of the last record written
	dirty   bool   // written since the last fsync
	closed  bool
	lastErr error // why f is nil

	state    atomic.Pointer[error] // nil when ready
	amu      sync.Mutex            // serialises anchor updates (taken after mu, never before)
	anchored Head                  // last head stored in the anchor (under amu)
	first    uint64                // seq of the first record retained (under mu)
	retained time.Time             // when retention last ran (under mu)
	stats    struct{ failures, anchorFailures, syslogDropped atomic.Uint64 }

	qmu    sync.RWMutex // held for reading while sending on queue, for writing to close it
	qdone  bool         // queue closed (under qmu)
	queue  chan Event   // QueueMax > 0
	syslog *syslogSink
	stop   chan struct{}
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// The trail is a Recorder that can tell whether it is ready.
var (
	_ Recorder = (*Trail)(nil)
	_ Readier  = (*Trail)(nil)
)

// Open opens (or creates) the trail in cfg.Dir, continuing the chain of
// the files already there and, when it is further, of the anchored head,
// so that records cut off while the server was down stay detectable. It
// starts the goroutine that fsyncs the file at most cfg.SyncInterval apart
// and updates the anchor after each fsync.
//
// Open fails on a bad Config or an unreadable trail; a directory that
// cannot be written is not an error of Open: the trail starts unavailable
// (Ready reports it) and recovers when the directory becomes writable.
func Open(ctx context.Context, cfg Config) (*Trail, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Trail{cfg: cfg, log: cfg.Logger, path: filepath.Join(cfg.Dir, cfg.Name), mac: newMAC(cfg.ChainKey), stop: make(chan struct{})}
	if err := t.restore(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	if err := t.openFile(); err != nil {
		t.markBroken(err)
	}
	t.mu.Unlock()
	if cfg.Syslog != nil {
		t.syslog = newSyslogSink(*cfg.Syslog, t.log, func(err error) {
			t.stats.syslogDropped.Add(1)
			t.report(SinkSyslog, err)
		})
	}
	if cfg.QueueMax > 0 {
		t.queue = make(chan Event, cfg.QueueMax)
		t.wg.Add(1)
		go t.writer()
	}
	t.wg.Add(1)
	go t.syncLoop()
	return t, nil
}

// Record writes e (Event.Time defaults to now). With QueueMax = 0 the
// record is in the file (written, fsync pending at most SyncInterval)
// when Record returns nil. Events the Types and Outcomes filters leave
// out are dropped and answer nil. When the record cannot be written the
// error wraps ErrUnavailable (unless FailOpen, which drops it).
func (t *Trail) Record(ctx context.Context, e Event) error {
	if !t.cfg.wants(&e) {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = t.cfg.Now()
	}
	e = sanitize(e)
	if t.queue != nil {
		return t.enqueue(ctx, e)
	}
	t.mu.Lock()
	err := t.write(e)
	t.mu.Unlock()
	if err != nil {
		return t.failed(err)
	}
	return nil
}

// enqueue hands e to the writer (QueueMax > 0).
func (t *Trail) enqueue(ctx context.Context, e Event) error {
	if err := t.Ready(); err != nil && !t.cfg.FailOpen {
		return err
	}
	t.qmu.RLock()
	defer t.qmu.RUnlock()
	if t.qdone {
		return t.failed(errors.New("audit: trail closed"))
	}
	select {
	case t.queue <- e:
		return nil
	case <-ctx.Done():
		return t.failed(fmt.Errorf("audit: queue full: %w", ctx.Err()))
	}
}

// writer writes queued events (QueueMax > 0); a failure is logged and
// counted, since the request was already answered.
func (t *Trail) writer() {
	defer t.wg.Done()
	for e := range t.queue {
		t.mu.Lock()
		err := t.write(e)
		t.mu.Unlock()
		if err != nil {
			_ = t.failed(err)
		}
	}
}

// failed counts and logs a record that was not written and returns what
// Record answers.
func (t *Trail) failed(err error) error {
	t.stats.failures.Add(1)
	t.report(SinkFile, err)
	if t.cfg.FailOpen {
		t.log.Error("audit: record dropped (fail-open)", "err", err)
		return nil
	}
	t.log.Error("audit: record refused (fail-closed)", "err", err)
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// report passes err to the OnFailure hook.
func (t *Trail) report(sink string, err error) {
	if t.cfg.OnFailure != nil {
		t.cfg.OnFailure(sink, err)
	}
}

// maxReusedBuf bounds the line buffer the trail keeps between records.
const maxReusedBuf = 16 << 10

// write appends e to the chain and the file. Callers hold mu.
func (t *Trail) write(e Event) error {
	if t.closed {
		return errors.New("audit: trail closed")
	}
	if err := t.checkFile(); err != nil {
		return err
	}
	line, mac, err := appendRecord(t.buf[:0], t.mac, t.seq+1, t.prev, &e)
	if err != nil {
		return err
	}
	if cap(line) <= maxReusedBuf {
		t.buf = line // reused by the next record: syslog copies what it sends
	}
	if t.size > 0 && t.size+int64(len(line)) > t.cfg.MaxSize {
		if err := t.rotate(); err != nil {
			t.markBroken(err)
			return err
		}
	}
	n, err := t.f.Write(line)
	if err != nil {
		if n > 0 {
			_ = t.f.Truncate(t.size) // never leave half a record
		}
		err = fmt.Errorf("audit: write %s: %w", t.path, err)
		t.markBroken(err)
		return err
	}
	t.size += int64(n)
	t.seq, t.prev, t.dirty = t.seq+1, mac, true
	if t.syslog != nil {
		t.syslog.send(t.seq, e, line)
	}
	return nil
}

// markBroken records why the trail cannot write. Callers hold mu.
func (t *Trail) markBroken(err error) {
	if t.f != nil {
		_ = t.f.Close()
		t.f, t.id = nil, nil
	}
	if t.lastErr == nil {
		t.log.Error("audit: trail unavailable", "err", err)
	}
	t.lastErr = err
	werr := fmt.Errorf("%w: %w", ErrUnavailable, err)
	t.state.Store(&werr)
}

// markReady clears a failure. Callers hold mu.
func (t *Trail) markReady() {
	if t.lastErr != nil {
		t.log.Info("audit: trail available again", "file", t.path)
		t.lastErr = nil
	}
	t.state.Store(nil)
}

// Ready reports, without I/O, whether the trail can record: nil, or an
// error wrapping ErrUnavailable. A front end may call it to refuse a
// request before doing any work. The trail retries a failed file at
// every SyncInterval and at every Record, so Ready turns nil again once
// the directory is writable.
func (t *Trail) Ready() error {
	if p := t.state.Load(); p != nil {
		return *p
	}
	return nil
}

// syncLoop fsyncs the file and updates the anchor at most SyncInterval
// apart, and retries an unavailable file.
func (t *Trail) syncLoop() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.flush()
		case <-t.stop:
			return
		}
	}
}

// flush fsyncs written records, then anchors the head they end with.
// The fsync runs outside mu, so that Record goes on meanwhile: it covers
// every record written before it started (the head taken then), and
// records written during it wait for the next flush.
func (t *Trail) flush() {
	t.mu.Lock()
	if t.f == nil && !t.closed {
		_ = t.checkFile() // logged by markBroken and markReady
	}
	f, dirty, clean := t.f, t.f != nil && t.dirty, !t.dirty
	head := Head{Seq: t.seq, MAC: t.prev}
	t.mu.Unlock()
	var err error
	if dirty {
		err = f.Sync() // safe beside Write and Close: *os.File counts its users
	}
	t.mu.Lock()
	switch {
	case err != nil && t.f == f:
		t.markBroken(fmt.Errorf("audit: sync %s: %w", t.path, err))
	case err != nil:
		// f was rotated (fsynced first), reopened or closed meanwhile:
		// whoever replaced it dealt with it. Anchor nothing this time.
	case dirty && t.f == f && t.seq == head.Seq:
		t.dirty = false
	}
	// The head is durable when the fsync covered it or nothing was
	// pending.
	anchor := err == nil && (dirty || clean)
	now := t.cfg.Now()
	if anchor && t.f != nil && now.Sub(t.retained) >= retentionCheckInterval {
		// Retention anchors the current seq, which must be durable: the
		// records written during the fsync above are fsynced here, under
		// mu (once per retention check, not at every flush).
		if t.dirty && t.f.Sync() == nil {
			t.dirty = false
			head.Seq, head.MAC = t.seq, t.prev
		}
		if !t.dirty {
			t.retained = now
			t.retain(now)
		}
	}
	head.First, head.Time = t.first, now.UTC()
	t.mu.Unlock()
	if anchor && head.Seq > 0 {
		_ = t.storeAnchor(head)
	}
}

// storeAnchor stores h unless the anchor already holds it or a newer head
// (concurrent updates from flush and retention never move it back). A
// failure is logged and counted, and returned.
func (t *Trail) storeAnchor(h Head) error {
	if t.cfg.Anchor == nil {
		return nil
	}
	t.amu.Lock()
	defer t.amu.Unlock()
	if h.Seq < t.anchored.Seq || h.Seq == t.anchored.Seq && h.First <= t.anchored.First {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.cfg.Anchor.Store(ctx, h); err != nil {
		t.stats.anchorFailures.Add(1)
		t.report(SinkAnchor, err)
		t.log.Error("audit: anchor the chain head", "seq", h.Seq, "err", err)
		return err
	}
	t.anchored = h
	return nil
}

// Close stops the trail: it drains the queue, fsyncs, anchors the head
// and closes the file and the syslog connection. Record fails afterwards.
func (t *Trail) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.close() })
	return t.closeErr
}

func (t *Trail) close() error {
	if t.queue != nil {
		t.qmu.Lock()
		t.qdone = true
		close(t.queue)
		t.qmu.Unlock()
	}
	close(t.stop)
	t.wg.Wait()
	t.flush()
	t.mu.Lock()
	t.closed = true
	var err error
	if t.f != nil {
		if serr := t.f.Sync(); serr != nil {
			err = fmt.Errorf("audit: close: %w", serr)
		}
		if cerr := t.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audit: close: %w", cerr)
		}
		t.f, t.id = nil, nil
	}
	cerr := errors.New("audit: trail closed")
	werr := fmt.Errorf("%w: %w", ErrUnavailable, cerr)
	t.state.Store(&werr)
	t.mu.Unlock()
	if t.syslog != nil {
		t.syslog.close()
	}
	return err
}

// Sinks, as OnFailure names them.
const (
	SinkFile   = "file"   // a record not written (refused, or dropped with FailOpen or from the queue)
	SinkAnchor = "anchor" // a failed update of the anchored head
	SinkSyslog = "syslog" // a record syslog did not receive
)

// Stats counts what went wrong since Open.
type Stats struct {
	// Failures is the number of records not written (refused, or dropped
	// with FailOpen or from the queue).
	Failures uint64 `json:"failures"`
	// AnchorFailures is the number of failed anchor updates.
	AnchorFailures uint64 `json:"anchor_failures"`
	// SyslogDropped is the number of records syslog did not receive.
	SyslogDropped uint64 `json:"syslog_dropped"`
}

// Stats returns the failure counters.
func (t *Trail) Stats() Stats {
	return Stats{
		Failures:       t.stats.failures.Load(),
		AnchorFailures: t.stats.anchorFailures.Load(),
		SyslogDropped:  t.stats.syslogDropped.Load(),
	}
}

// Head returns the last record's seq and MAC.
func (t *Trail) Head() Head {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Head{Seq: t.seq, MAC: t.prev}
}
