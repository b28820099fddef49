package importer

import (
	"errors"
	"strconv"
)

// ErrNoFreeName is returned by Renamer.First when every candidate it may
// try is taken.
var ErrNoFreeName = errors.New("importer: no free name")

// Renamer is the rename scheme of a conflicting object: NAME+Suffix, then
// NAME+Suffix+"2", NAME+Suffix+"3", …
type Renamer struct {
	// Suffix is appended to the name.
	Suffix string
	// MaxLen, when not zero, cuts the name so that a candidate has at
	// most MaxLen bytes; zero leaves names whole (a caller that validates
	// its names then refuses a long one).
	MaxLen int
}

// Candidate returns the i-th new name for name (i from 1).
func (r Renamer) Candidate(name string, i int) string {
	suffix := r.Suffix
	if i > 1 {
		suffix += strconv.Itoa(i)
	}
	if r.MaxLen > 0 && len(name)+len(suffix) > r.MaxLen {
		name = name[:max(r.MaxLen-len(suffix), 0)]
	}
	return name + suffix
}

// IsRenameOf reports whether name is one of the first tries candidates for
// base: an object an earlier import renamed.
func (r Renamer) IsRenameOf(name, base string, tries int) bool {
	for i := 1; i <= tries; i++ {
		if name == r.Candidate(base, i) {
			return true
		}
	}
	return false
}

// First returns the first candidate for name at which stop answers true,
// trying at most tries candidates (zero: no bound; stop must then answer
// true at some point). An error of stop ends the search with it; no
// candidate stopping it is ErrNoFreeName.
func (r Renamer) First(name string, tries int, stop func(candidate string) (bool, error)) (string, error) {
	for i := 1; tries == 0 || i <= tries; i++ {
		c := r.Candidate(name, i)
		ok, err := stop(c)
		if err != nil {
			return "", err
		}
		if ok {
			return c, nil
		}
	}
	return "", ErrNoFreeName
}
