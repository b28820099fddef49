// Package keygroups holds LTO key groups: sets of pre-generated AES-256
// keys named by alias, as EKM's and ISKLM's symmetricKeySet describes them
// (for example des01-1f: the 31 aliases des01 … des1f). Service creates a
// group's keys as KMIP Symmetric Keys through keys.Manager and serves them
// to LTO drives by alias or in round robin.
package keygroups

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxAliases bounds the size of one alias set.
const MaxAliases = 65536

// ErrAliasSet is matched by every error of ParseAliasSet.
var ErrAliasSet = errors.New("keygroups: invalid alias set")

// ParseAliasSet expands the symmetricKeySet syntax: a comma-separated list
// of single aliases and ranges. A range is PREFIX START-END where START and
// END are hexadecimal counters of the same width; END may repeat the prefix
// (des01-des1f) or omit it (des01-1f). Hexadecimal digits are upper case
// when START or END writes them so; the prefix keeps START's case.
// Aliases are returned in order, without duplicates (compared without case).
func ParseAliasSet(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(a string) error {
		k := strings.ToLower(a)
		if seen[k] {
			return fmt.Errorf("%w: alias %q given twice", ErrAliasSet, a)
		}
		if len(out) >= MaxAliases {
			return fmt.Errorf("%w: more than %d aliases", ErrAliasSet, MaxAliases)
		}
		seen[k] = true
		out = append(out, a)
		return nil
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty", ErrAliasSet)
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w: empty item in %q", ErrAliasSet, s)
		}
		if err := checkChars(item); err != nil {
			return nil, err
		}
		start, end, isRange := strings.Cut(item, "-")
		if !isRange {
			if err := add(item); err != nil {
				return nil, err
			}
			continue
		}
		aliases, err := expand(start, end)
		if err != nil {
			return nil, err
		}
		for _, a := range aliases {
			if err := add(a); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func checkChars(item string) error {
	for _, r := range item {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: %q: only letters, digits, '_', '.' and one '-' for a range", ErrAliasSet, item)
		}
	}
	return nil
}

// expand turns one range into its aliases.
func expand(start, end string) ([]string, error) {
	if start == "" || end == "" || strings.Contains(end, "-") {
		return nil, fmt.Errorf("%w: range %q-%q: want PREFIXSTART-END", ErrAliasSet, start, end)
	}
	// The counter is the longest hexadecimal suffix of END (without a
	// prefix) or the part of END after START's prefix.
	width := len(end)
	prefix := ""
	if len(end) <= len(start) && isHex(end) {
		prefix = start[:len(start)-len(end)]
	} else {
		prefix, width = commonPrefix(start, end), 0
		width = len(start) - len(prefix)
		if len(end)-len(prefix) != width {
			return nil, fmt.Errorf("%w: range %s-%s: start and end counters differ in width", ErrAliasSet, start, end)
		}
		end = end[len(prefix):]
	}
	counter := start[len(prefix):]
	if width == 0 || !isHex(counter) || !isHex(end) || width > 8 {
		return nil, fmt.Errorf("%w: range %s-%s: the counter must be 1 to 8 hexadecimal digits", ErrAliasSet, start, end)
	}
	lo, _ := strconv.ParseUint(counter, 16, 64)
	hi, _ := strconv.ParseUint(end, 16, 64)
	if hi < lo {
		return nil, fmt.Errorf("%w: range %s-%s runs backwards", ErrAliasSet, start, end)
	}
	if hi-lo+1 > MaxAliases {
		return nil, fmt.Errorf("%w: range %s-%s has more than %d aliases", ErrAliasSet, start, end, MaxAliases)
	}
	upper := counter != strings.ToLower(counter) || end != strings.ToLower(end)
	out := make([]string, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		c := fmt.Sprintf("%0*x", width, n)
		if upper {
			c = strings.ToUpper(c)
		}
		out = append(out, prefix+c)
	}
	return out, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// commonPrefix is the longest shared leading part of a and b that is not
// followed by a hexadecimal counter in both: the non-counter prefix.
func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && strings.EqualFold(a[:n+1], b[:n+1]) {
		n++
	}
	// Back off to where the counters start: trailing hex digits of the shared
	// part belong to the counter.
	for n > 0 && isHex(a[n-1:n]) && isHex(a[n:]) && isHex(b[n:]) {
		n--
	}
	return a[:n]
}
