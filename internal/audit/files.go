package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// rotatedLayout is the timestamp a rotated file's name ends with: UTC,
// fixed width, so that names sort in rotation order.
const rotatedLayout = "20060102T150405.000000000Z"

// rotatedFile is one closed audit file.
type rotatedFile struct {
	path    string
	rotated time.Time
}

// rotatedName returns NAME.TIMESTAMP for a file rotated at t.
func rotatedName(name string, t time.Time) string {
	return name + "." + t.UTC().Format(rotatedLayout)
}

// listRotated returns the rotated files of name in dir, oldest first.
func listRotated(dir, name string) ([]rotatedFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: list %s: %w", dir, err)
	}
	var out []rotatedFile
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), name+".")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		stamp, _, _ := strings.Cut(rest, "-") // NAME.TIMESTAMP-N when two rotations share a timestamp
		t, err := time.Parse(rotatedLayout, stamp)
		if err != nil {
			continue
		}
		out = append(out, rotatedFile{path: filepath.Join(dir, e.Name()), rotated: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// trailFiles returns every file of the trail in chain order: the rotated
// files, oldest first, then the current file if it exists.
func trailFiles(dir, name string) ([]string, error) {
	rotated, err := listRotated(dir, name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rotated)+1)
	for _, r := range rotated {
		out = append(out, r.path)
	}
	current := filepath.Join(dir, name)
	if fi, err := os.Stat(current); err == nil && fi.Mode().IsRegular() {
		out = append(out, current)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// lastLine returns the last complete line of f (without its newline) and
// the offset just after it. A trailing partial line (a write cut short by
// a crash) is not part of it: the caller truncates it away.
func lastLine(f *os.File) ([]byte, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("audit: stat %s: %w", f.Name(), err)
	}
	size := fi.Size()
	chunk := int64(64 << 10)
	for {
		start := max(0, size-chunk)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("audit: read %s: %w", f.Name(), err)
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end < 0 {
			if start == 0 {
				return nil, 0, nil // no complete line
			}
			chunk *= 2
			continue
		}
		begin := bytes.LastIndexByte(buf[:end], '\n') + 1
		if begin == 0 && start > 0 {
			if chunk >= maxLineLen*2 {
				return nil, 0, fmt.Errorf("audit: %s: last line longer than %d bytes", f.Name(), maxLineLen)
			}
			chunk *= 2
			continue
		}
		return buf[begin:end], start + int64(end) + 1, nil
	}
}

// syncDir fsyncs a directory so that a created or renamed file survives a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
