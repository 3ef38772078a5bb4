package api

import (
	"math"
	"strings"
)

// ByteRange is a satisfiable part of a content: Length bytes from Start.
// Start+Length never passes the content's size.
type ByteRange struct {
	Start  int64
	Length int64
}

// ParseRange reads a Range header against a content of size bytes. It
// serves one range only; the rules below restate RFC 9110, section 14.
//
// It returns ok=true and the range when the header asks for exactly one
// satisfiable byte range: "bytes=a-b" (b past the end is cut to the end),
// "bytes=a-" (from a to the end) or "bytes=-n" (the last n bytes, or all
// of them when the content is shorter).
//
// It returns ErrRangeNotSatisfiable when the single range starts at or past
// the end, or asks for the last zero bytes: the server answers 416.
//
// It returns ok=false and no error when the header is empty, malformed,
// names another unit, or holds more than one range. The server then sends
// the whole content with 200, which the RFC allows since a server may
// ignore Range. Multipart/byteranges answers are not produced at all.
func ParseRange(header string, size int64) (r ByteRange, ok bool, err error) {
	unit, spec, found := strings.Cut(header, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return ByteRange{}, false, nil
	}
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, ",") {
		return ByteRange{}, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return ByteRange{}, false, nil
	}
	if first == "" {
		return suffixRange(last, size)
	}
	return boundedRange(first, last, size)
}

// suffixRange handles "bytes=-n": the last n bytes.
func suffixRange(digits string, size int64) (ByteRange, bool, error) {
	n, valid := parseDigits(digits)
	switch {
	case !valid:
		return ByteRange{}, false, nil
	case n == 0:
		return ByteRange{}, false, ErrRangeNotSatisfiable
	case size == 0:
		// The last n bytes of nothing is nothing; send the (empty) whole.
		return ByteRange{}, false, nil
	}
	n = min(n, size)
	return ByteRange{Start: size - n, Length: n}, true, nil
}

// boundedRange handles "bytes=a-b" and "bytes=a-".
func boundedRange(firstDigits, lastDigits string, size int64) (ByteRange, bool, error) {
	first, valid := parseDigits(firstDigits)
	if !valid {
		return ByteRange{}, false, nil
	}
	last := int64(math.MaxInt64)
	if lastDigits != "" {
		if last, valid = parseDigits(lastDigits); !valid || last < first {
			return ByteRange{}, false, nil
		}
	}
	if first >= size {
		return ByteRange{}, false, ErrRangeNotSatisfiable
	}
	last = min(last, size-1)
	return ByteRange{Start: first, Length: last - first + 1}, true, nil
}

// parseDigits parses a non-empty run of ASCII digits. A value too large
// for int64 saturates at math.MaxInt64: it is still a valid position, one
// past the end of any real content.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// etagMatches reports whether an If-None-Match header matches etag, a
// quoted strong tag. If-None-Match uses the weak comparison: W/"x" matches
// "x". "*" matches any existing content. A malformed list matches nothing,
// so the server falls back to sending the content.
func etagMatches(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "*" {
		return true
	}
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag {
			return true
		}
	}
	return false
}
