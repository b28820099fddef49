package audit

import (
	"bufio"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// ErrTampered is wrapped by the *Problem Verify returns when the trail
// was altered, cut or reordered.
var ErrTampered = errors.New("audit: trail tampered with")

// Kinds of Problem.
const (
	KindAltered   = "altered"   // the record's bytes changed, or it does not belong to this chain
	KindRemoved   = "removed"   // records are missing before this one (or after the last one)
	KindReordered = "reordered" // the record is out of order
)

// Problem is the first bad record Verify found.
type Problem struct {
	// Kind is KindAltered, KindRemoved or KindReordered.
	Kind string `json:"kind"`
	// File and Line locate the record (Line counts from 1). For records
	// cut off at the end, Line is one past the file's last line.
	File string `json:"file"`
	Line int    `json:"line"`
	// Seq is the record's seq when it could be read; for KindRemoved the
	// first missing seq.
	Seq uint64 `json:"seq"`
	// Detail explains the finding.
	Detail string `json:"detail"`
}

// Error describes the problem; it wraps ErrTampered.
func (p *Problem) Error() string {
	return fmt.Sprintf("audit: %s record at %s line %d (seq %d): %s", p.Kind, p.File, p.Line, p.Seq, p.Detail)
}

// Unwrap returns ErrTampered.
func (p *Problem) Unwrap() error { return ErrTampered }

// Report is what Verify checked.
type Report struct {
	// Files is the number of files read, Records the records verified.
	Files   int    `json:"files"`
	Records uint64 `json:"records"`
	// FirstSeq and LastSeq bound the chain found. FirstSeq above 1 means
	// older files were removed (retention).
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Anchored is the head Verify was given; AnchorChecked tells whether
	// the anchored record was found and matched.
	Anchored      Head `json:"anchored"`
	AnchorChecked bool `json:"anchor_checked"`
	// Problem is the first bad record, nil when the trail verifies.
	Problem *Problem `json:"problem,omitempty"`
}

// Verify checks the trail name in dir: every record's MAC under key, the
// chain of seqs and MACs across rotated files, and the anchored head (the
// zero Head skips that check). It returns the report and, for the first
// altered, removed or reordered record, a *Problem (wrapping ErrTampered)
// also set in Report.Problem. Other errors are I/O errors.
//
// The anchor lags the file by at most one fsync group: records after the
// anchored seq are accepted when their chain is intact, records missing
// at or before it are reported removed. A trailing partial line of the
// current file (a write in progress) is ignored.
func Verify(dir, name string, key []byte, head Head) (Report, error) {
	rep := Report{Anchored: head}
	if name == "" {
		name = DefaultName
	}
	if len(key) < MinChainKey {
		return rep, fmt.Errorf("audit: verify: want a chain key of at least %d bytes", MinChainKey)
	}
	files, err := trailFiles(dir, name)
	if err != nil {
		return rep, err
	}
	c := &cursor{files: files, current: filepath.Join(dir, name), mac: newMAC(key)}
	defer c.close()
	var (
		prev     string
		lastFile string
		lastLine int
	)
	fail := func(p Problem) (Report, error) {
		rep.Files = c.opened
		rep.Problem = &p
		return rep, &p
	}
	for {
		it, err := c.next()
		if err != nil {
			return rep, err
		}
		if it == nil {
			break
		}
		lastFile, lastLine = it.file, it.line
		if it.err != nil {
			detail := "the line is not an audit record"
			if errors.Is(it.err, errBadMAC) {
				detail = "its MAC does not match its contents"
			}
			return fail(Problem{Kind: KindAltered, File: it.file, Line: it.line, Seq: it.rec.Seq, Detail: detail})
		}
		r := it.rec
		switch {
		case rep.Records == 0:
			if r.Seq == 1 && r.Prev != "" || r.Seq == 0 {
				return fail(Problem{Kind: KindAltered, File: it.file, Line: it.line, Seq: r.Seq, Detail: "the first record of a chain has seq 1 and no previous MAC"})
			}
			if head.First > 0 && r.Seq > head.First {
				return fail(Problem{Kind: KindRemoved, File: it.file, Line: it.line, Seq: head.First,
					Detail: fmt.Sprintf("the trail starts at seq %d but retention kept it from seq %d: older records were removed", r.Seq, head.First)})
			}
			if head.First == 0 && head.Seq > 0 && r.Seq > head.Seq {
				return fail(Problem{Kind: KindRemoved, File: it.file, Line: it.line, Seq: head.Seq,
					Detail: fmt.Sprintf("the trail starts at seq %d, after the anchored seq %d", r.Seq, head.Seq)})
			}
			rep.FirstSeq = r.Seq
		case r.Seq == rep.LastSeq+1:
			if r.Prev != prev {
				return fail(Problem{Kind: KindAltered, File: it.file, Line: it.line, Seq: r.Seq, Detail: "it does not chain to the previous record"})
			}
		case r.Seq > rep.LastSeq+1:
			if nx, err := c.peek(); err == nil && nx != nil && nx.err == nil && nx.rec.Seq == rep.LastSeq+1 {
				return fail(Problem{Kind: KindReordered, File: it.file, Line: it.line, Seq: r.Seq,
					Detail: fmt.Sprintf("seq %d comes before seq %d", r.Seq, nx.rec.Seq)})
			}
			return fail(Problem{Kind: KindRemoved, File: it.file, Line: it.line, Seq: rep.LastSeq + 1,
				Detail: fmt.Sprintf("records %d to %d are missing before seq %d", rep.LastSeq+1, r.Seq-1, r.Seq)})
		default:
			return fail(Problem{Kind: KindReordered, File: it.file, Line: it.line, Seq: r.Seq,
				Detail: fmt.Sprintf("seq %d comes after seq %d", r.Seq, rep.LastSeq)})
		}
		if head.Seq > 0 && r.Seq == head.Seq {
			if r.MAC != head.MAC {
				return fail(Problem{Kind: KindAltered, File: it.file, Line: it.line, Seq: r.Seq, Detail: "it differs from the anchored chain head"})
			}
			rep.AnchorChecked = true
		}
		prev = r.MAC
		rep.LastSeq = r.Seq
		rep.Records++
	}
	rep.Files = c.opened
	if head.Seq > rep.LastSeq && head.First <= head.Seq { // First > Seq: retention removed every record up to Seq
		if lastFile == "" {
			lastFile = filepath.Join(dir, name)
		}
		return fail(Problem{Kind: KindRemoved, File: lastFile, Line: lastLine + 1, Seq: rep.LastSeq + 1,
			Detail: fmt.Sprintf("the trail ends at seq %d but the anchored head is seq %d: the last records were cut off", rep.LastSeq, head.Seq)})
	}
	return rep, nil
}

// item is one line of the trail.
type item struct {
	file string
	line int
	rec  Record
	err  error // errMalformed or errBadMAC
}

// cursor reads the records of the trail's files in order, with one item
// of lookahead.
type cursor struct {
	files   []string
	current string
	mac     hash.Hash
	opened  int

	f      *os.File
	r      *bufio.Reader
	file   string
	line   int
	peeked *item
}

func (c *cursor) peek() (*item, error) {
	if c.peeked == nil {
		it, err := c.read()
		if err != nil {
			return nil, err
		}
		c.peeked = it
	}
	return c.peeked, nil
}

func (c *cursor) next() (*item, error) {
	if c.peeked != nil {
		it := c.peeked
		c.peeked = nil
		return it, nil
	}
	return c.read()
}

// read returns the next line's item, nil at the end of the last file.
func (c *cursor) read() (*item, error) {
	for {
		if c.f == nil {
			if len(c.files) == 0 {
				return nil, nil
			}
			f, err := os.Open(c.files[0])
			if err != nil {
				return nil, fmt.Errorf("audit: verify: %w", err)
			}
			c.f, c.r, c.file, c.line = f, bufio.NewReaderSize(f, 64<<10), c.files[0], 0
			c.files = c.files[1:]
			c.opened++
		}
		line, err := readLine(c.r)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			c.close()
			continue
		}
		c.line++
		if errors.Is(err, io.EOF) && c.file == c.current {
			c.close() // a partial last line of the current file: a write in progress
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errLineTooLong) {
			return nil, fmt.Errorf("audit: verify %s: %w", c.file, err)
		}
		it := &item{file: c.file, line: c.line}
		if err != nil {
			it.err = errMalformed
		} else {
			it.rec, it.err = decodeRecord(c.mac, line)
		}
		return it, nil
	}
}

func (c *cursor) close() {
	if c.f != nil {
		_ = c.f.Close()
		c.f, c.r = nil, nil
	}
}

// errLineTooLong reports a line longer than maxLineLen.
var errLineTooLong = errors.New("line too long")

// readLine reads one line without its newline. At the end of the input it
// returns what is left with io.EOF. A line longer than maxLineLen is
// skipped and reported with errLineTooLong.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxLineLen {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}
