package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rangeCases are the table of TestParseRange and the seeds of
// FuzzParseRange.
var rangeCases = []struct {
	name   string
	header string
	size   int64
	want   ByteRange
	ok     bool
	unsat  bool
}{
	{name: "closed", header: "bytes=0-9", size: 100, want: ByteRange{0, 10}, ok: true},
	{name: "single byte", header: "bytes=5-5", size: 100, want: ByteRange{5, 1}, ok: true},
	{name: "open", header: "bytes=90-", size: 100, want: ByteRange{90, 10}, ok: true},
	{name: "suffix", header: "bytes=-10", size: 100, want: ByteRange{90, 10}, ok: true},
	{name: "suffix longer than content", header: "bytes=-500", size: 100,
		want: ByteRange{0, 100}, ok: true},
	{name: "end past size is cut", header: "bytes=50-1000", size: 100,
		want: ByteRange{50, 50}, ok: true},
	{name: "last byte", header: "bytes=99-99", size: 100, want: ByteRange{99, 1}, ok: true},
	{name: "unit case and spaces", header: " BYTES = 1-2 ", size: 100,
		want: ByteRange{1, 2}, ok: true},
	{name: "huge end saturates", header: "bytes=1-99999999999999999999999", size: 100,
		want: ByteRange{1, 99}, ok: true},
	{name: "huge suffix is all", header: "bytes=-99999999999999999999999", size: 100,
		want: ByteRange{0, 100}, ok: true},

	{name: "start at size", header: "bytes=100-", size: 100, unsat: true},
	{name: "start past size", header: "bytes=200-300", size: 100, unsat: true},
	{name: "huge start", header: "bytes=99999999999999999999999-", size: 100, unsat: true},
	{name: "zero suffix", header: "bytes=-0", size: 100, unsat: true},
	{name: "any start on empty content", header: "bytes=0-", size: 0, unsat: true},

	{name: "empty", header: "", size: 100},
	{name: "suffix of empty content", header: "bytes=-5", size: 0},
	{name: "other unit", header: "items=0-1", size: 100},
	{name: "no equals", header: "bytes 0-1", size: 100},
	{name: "multi-range", header: "bytes=0-1,5-6", size: 100},
	{name: "multi-range with unsatisfiable", header: "bytes=500-600,0-1", size: 100},
	{name: "trailing comma", header: "bytes=0-1,", size: 100},
	{name: "end before start", header: "bytes=9-2", size: 100},
	{name: "no dash", header: "bytes=5", size: 100},
	{name: "only dash", header: "bytes=-", size: 100},
	{name: "signs", header: "bytes=+1-2", size: 100},
	{name: "negative", header: "bytes=--1", size: 100},
	{name: "letters", header: "bytes=a-b", size: 100},
	{name: "inner space", header: "bytes=1 -2", size: 100},
	{name: "two dashes", header: "bytes=1-2-3", size: 100},
}

func TestParseRange(t *testing.T) {
	for _, tt := range rangeCases {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseRange(tt.header, tt.size)
			if got != tt.want || ok != tt.ok || errors.Is(err, ErrRangeNotSatisfiable) != tt.unsat {
				t.Errorf("ParseRange(%q, %d) = %+v, %v, %v; want %+v, %v, unsatisfiable %v",
					tt.header, tt.size, got, ok, err, tt.want, tt.ok, tt.unsat)
			}
		})
	}
}

// FuzzParseRange checks ParseRange's promises on any header and size: a
// range it returns lies inside the content, it never both succeeds and
// fails, and the range it returns, written back as bytes=a-b, parses to
// itself.
func FuzzParseRange(f *testing.F) {
	for _, tt := range rangeCases {
		f.Add(tt.header, tt.size)
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		r, ok, err := ParseRange(header, size)
		if err != nil && (ok || !errors.Is(err, ErrRangeNotSatisfiable)) {
			t.Fatalf("ParseRange(%q, %d) = %+v, %v, %v", header, size, r, ok, err)
		}
		if !ok {
			if r != (ByteRange{}) {
				t.Fatalf("ParseRange(%q, %d) = %+v without ok", header, size, r)
			}
			return
		}
		if r.Start < 0 || r.Length < 1 || r.Start > size-r.Length {
			t.Fatalf("ParseRange(%q, %d) = %+v, outside the content", header, size, r)
		}
		again, ok2, err2 := ParseRange(fmt.Sprintf("bytes=%d-%d", r.Start,
			r.Start+r.Length-1), size)
		if again != r || !ok2 || err2 != nil {
			t.Fatalf("round trip of %+v gave %+v, %v, %v", r, again, ok2, err2)
		}
	})
}

// etagCases are the table of TestETagMatches and the seeds of
// FuzzETagMatches.
var etagCases = []struct {
	name, header string
	want         bool
}{
	{name: "exact", header: `"abc"`, want: true},
	{name: "star", header: "*", want: true},
	{name: "star with spaces", header: " * ", want: true},
	{name: "weak", header: `W/"abc"`, want: true},
	{name: "in a list", header: `"x", "abc" ,"y"`, want: true},
	{name: "other", header: `"abd"`},
	{name: "unquoted", header: `abc`},
	{name: "empty", header: ``},
	{name: "star in a list is not star", header: `"x", *`},
	{name: "lowercase weak prefix", header: `w/"abc"`},
}

func TestETagMatches(t *testing.T) {
	for _, tt := range etagCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := etagMatches(tt.header, `"abc"`); got != tt.want {
				t.Errorf("etagMatches(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

// FuzzETagMatches checks that any If-None-Match list holding the tag
// matches, and that no header matches a tag it does not contain.
func FuzzETagMatches(f *testing.F) {
	for _, tt := range etagCases {
		f.Add(tt.header)
	}
	f.Fuzz(func(t *testing.T, header string) {
		const etag = `"0123abcd"`
		got := etagMatches(header, etag)
		if got && !strings.Contains(header, etag) && !strings.Contains(header, "*") {
			t.Fatalf("etagMatches(%q) is true without the tag", header)
		}
		if !etagMatches(header+", "+etag, etag) {
			t.Fatalf("etagMatches(%q) misses the tag appended", header+", "+etag)
		}
	})
}
