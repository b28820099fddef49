package config

import "strings"

// suggest returns the candidate closest to s (case-insensitive edit
// distance), or "" when none is close enough to help: at most a third of
// the longer name, and at most 3 edits.
func suggest(s string, candidates []string) string {
	if len(s) > maxSuggestLen {
		return ""
	}
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		if c == "" {
			continue
		}
		d := editDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	limit := min(3, max(1, max(len(s), len(best))/2))
	if bestD > limit {
		return ""
	}
	return best
}

// maxSuggestLen bounds the names suggest compares: no key is longer, and
// the comparison's cost grows with the square of the length.
const maxSuggestLen = 64

// editDistance is the optimal string alignment distance between a and
// b, in bytes: insertions, deletions, substitutions and transpositions of
// adjacent bytes each count one.
func editDistance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1) // transposition
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
