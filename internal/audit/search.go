package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Filter selects records; empty fields do not filter, and every field
// given must match.
type Filter struct {
	// Since and Until bound the event time, inclusive.
	Since, Until time.Time
	// Device matches the client's device id, drive serial, WWN, name or
	// certificate fingerprint.
	Device string
	// Object matches one of the object identifiers.
	Object string
	// Label matches one of the key labels, aliases or key group names.
	Label string
	// Volser matches the volume serial.
	Volser string
	// Outcome matches the outcome (success, failure, denied).
	Outcome Outcome
	// Operation matches the operation name, case-insensitively.
	Operation string
	// Type matches the event type.
	Type Type
	// Limit keeps at most the last Limit matching records; zero keeps all.
	Limit int
}

// Match reports whether r passes f.
func (f Filter) Match(r *Record) bool {
	switch {
	case !f.Since.IsZero() && r.Time.Before(f.Since),
		!f.Until.IsZero() && r.Time.After(f.Until),
		f.Volser != "" && !strings.EqualFold(r.Volser, f.Volser),
		f.Outcome != "" && r.Outcome != f.Outcome,
		f.Operation != "" && !strings.EqualFold(r.Operation, f.Operation),
		f.Type != "" && r.Type != f.Type,
		f.Object != "" && !contains(r.Objects, f.Object),
		f.Label != "" && !contains(r.Labels, f.Label):
		return false
	}
	if f.Device != "" {
		c := r.Client
		if !strings.EqualFold(c.DeviceID, f.Device) && !strings.EqualFold(c.Serial, f.Device) &&
			!strings.EqualFold(c.WWN, f.Device) && c.Name != f.Device && !strings.EqualFold(c.Fingerprint, f.Device) {
			return false
		}
	}
	return true
}

// Search returns the records of the trail name in dir that match f,
// oldest first (the last f.Limit of them when Limit is set). Search reads
// the files as they are; lines that are not records are skipped (Verify
// reports them).
func Search(ctx context.Context, dir, name string, f Filter) ([]Record, error) {
	if name == "" {
		name = DefaultName
	}
	if f.Limit < 0 {
		return nil, errors.New("audit: search: negative limit")
	}
	files, err := trailFiles(dir, name)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: search: %w", err)
		}
		out, err = searchFile(ctx, path, f, out)
		if err != nil {
			return nil, err
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// Search returns the trail's records that match f (see Search).
func (t *Trail) Search(ctx context.Context, f Filter) ([]Record, error) {
	return Search(ctx, t.cfg.Dir, t.cfg.Name, f)
}

// Verify verifies the trail's files against the anchored head (see
// Verify). Records written but not yet anchored are checked as a chain.
func (t *Trail) Verify(ctx context.Context) (Report, error) {
	var head Head
	if t.cfg.Anchor != nil {
		h, err := t.cfg.Anchor.Load(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		head = h
	}
	rep, err := Verify(t.cfg.Dir, t.cfg.Name, t.cfg.ChainKey, head)
	if errors.Is(err, ErrTampered) || errors.Is(err, fs.ErrNotExist) {
		// A rotation or retention between listing the files and reading
		// them looks like removed records or a missing file: look again once.
		rep, err = Verify(t.cfg.Dir, t.cfg.Name, t.cfg.ChainKey, head)
	}
	return rep, err
}

// searchFile appends the matching records of path to out.
func searchFile(ctx context.Context, path string, f Filter, out []Record) ([]Record, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	defer file.Close()
	r := bufio.NewReaderSize(file, 64<<10)
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("audit: search: %w", ctx.Err())
		}
		line, err := readLine(r)
		if errors.Is(err, io.EOF) {
			return out, nil // a partial last line is a write in progress
		}
		if errors.Is(err, errLineTooLong) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit: search %s: %w", path, err)
		}
		var rec Record
		if json.Unmarshal(line, &rec) != nil || !f.Match(&rec) {
			continue
		}
		out = append(out, rec)
		if f.Limit > 0 && len(out) > 2*f.Limit {
			out = append(out[:0], out[len(out)-f.Limit:]...)
		}
	}
}
