package wire

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrMismatch is matched by the error Compare returns when two item lists
// differ. It does not match ErrInvalid: each list may be a valid message.
var ErrMismatch = errors.New("wire: item lists differ")

// Items validates msg like Walk and returns its items in document order,
// parents before children: a canonical list of (depth, tag, type, value)
// that Compare can hold against the list of a re-encoded message. Values
// are copied (into one allocation), so the list stays intact even if msg is
// later modified; the ovh decoder modifies negative BigInteger values in
// place.
func Items(msg []byte, limits Limits) ([]Item, error) {
	var items []Item
	var values []byte
	_, err := Walk(msg, limits, func(it Item) error {
		if it.Value != nil {
			if values == nil {
				values = make([]byte, 0, len(msg))
			}
			start := len(values)
			values = append(values, it.Value...)
			it.Value = values[start:len(values):len(values)]
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// MismatchError reports the first difference found by Compare.
type MismatchError struct {
	// Index is the position of the first differing item in both lists.
	Index int
	// Want is the item of the first list at Index and Got the one of the
	// second; a zero Item with Depth 0 stands for a missing item.
	Want, Got Item
	// Detail names what differs, without values.
	Detail string
}

// Error describes the difference with tags and positions only.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: item %d: %s (want tag 0x%06X %s at depth %d, got tag 0x%06X %s at depth %d)",
		ErrMismatch, e.Index, e.Detail, e.Want.Tag, e.Want.Type, e.Want.Depth, e.Got.Tag, e.Got.Type, e.Got.Depth)
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Compare reports whether two item lists describe the same tree: same
// length, and item by item the same depth, tag, type and value. Offsets
// and structure lengths are not compared (they follow from the rest).
// BigInteger values are compared as numbers, since an encoder may choose
// another, equally valid, sign extension. It returns nil or a
// *MismatchError.
func Compare(want, got []Item) error {
	n := min(len(want), len(got))
	for i := range n {
		w, g := want[i], got[i]
		var detail string
		switch {
		case w.Depth != g.Depth:
			detail = "depth differs"
		case w.Tag != g.Tag:
			detail = "tag differs"
		case w.Type != g.Type:
			detail = "type differs"
		case w.Type == TypeBigInteger && !bigIntEqual(w.Value, g.Value):
			detail = "big integer value differs"
		case w.Type != TypeBigInteger && w.Type != TypeStructure && !bytes.Equal(w.Value, g.Value):
			detail = "value differs"
		}
		if detail != "" {
			return &MismatchError{Index: i, Want: w, Got: g, Detail: detail}
		}
	}
	switch {
	case len(want) > n:
		return &MismatchError{Index: n, Want: want[n], Detail: fmt.Sprintf("%d items missing", len(want)-n)}
	case len(got) > n:
		return &MismatchError{Index: n, Got: got[n], Detail: fmt.Sprintf("%d items added", len(got)-n)}
	}
	return nil
}

// bigIntEqual compares two big-endian two's complement integers of any
// lengths by sign-extending the shorter one.
func bigIntEqual(a, b []byte) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	ext := byte(0)
	if len(b) > 0 && b[0]&0x80 != 0 {
		ext = 0xFF // negative: sign-extend with ones; an empty b is zero
	}
	extra := len(a) - len(b)
	for i := range extra {
		if a[i] != ext {
			return false
		}
	}
	return bytes.Equal(a[extra:], b)
}
