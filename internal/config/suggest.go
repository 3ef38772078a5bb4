package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// unknownKeyReason explains an unknown key: the nearest known key when the
// unknown one looks like a typo of it, otherwise every key allowed there.
func unknownKeyReason(key string, fields map[string]reflect.Type) string {
	known := slices.Sorted(maps.Keys(fields))
	if near := nearest(key, known); near != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", near)
	}
	return fmt.Sprintf("unknown key (known keys here: %s)", strings.Join(known, ", "))
}

// nearest returns the candidate closest to key, if it is within two edits
// and clearly closer than the key's own length; otherwise "".
func nearest(key string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(key), c); d < bestDist && d < len(c) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
// Keys are short ASCII, so the quadratic cost does not matter; inputs
// longer than 64 bytes are reported as far apart without computing.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
