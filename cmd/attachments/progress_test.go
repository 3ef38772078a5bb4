package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestProgressIsSilentUnlessTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	cases := []struct {
		name string
		out  *os.File
		size int64
	}{
		{name: "regular file, large transfer", out: file, size: 64 << 20},
		{name: "regular file, unknown size", out: file, size: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgress(tc.out, tc.size, "x")
			if p.bar != nil {
				t.Fatalf("newProgress drew a bar on %s", tc.name)
			}
			p.Write(make([]byte, 1<<20))
			p.end(true)
		})
	}
	var buf bytes.Buffer
	p := newProgress(&buf, 64<<20, "x")
	p.Write(make([]byte, 1<<20))
	p.end(false)
	if p.bar != nil || buf.Len() != 0 {
		t.Errorf("progress on a buffer: bar %v, wrote %q; want neither", p.bar != nil, buf.String())
	}
}

// barDrawn matches a bar being drawn half way: description, percentage,
// bytes done of the total, the rate, and elapsed:remaining time.
var barDrawn = regexp.MustCompile(
	`get big  50% \|[^|]*\| \(4\.2/8\.4 MB, [0-9.]+ [kMG]?B/s\) \[[0-9a-z.]+:[0-9a-z.]+\]`)

// barDone matches the finished bar: the total and the elapsed time.
var barDone = regexp.MustCompile(
	`get big 100% \|[^|]*\| \(8\.4/8\.4 MB, [0-9.]+ [kMG]?B/s\) \[[0-9a-z.]+\]\n$`)

func TestProgressShowsRateAndTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	p := drawProgress(&buf, 8<<20, "get big", 0) // draw on every write
	for i := range 8 {
		n, err := p.Write(make([]byte, 1<<20))
		if n != 1<<20 || err != nil {
			t.Fatalf("Write: %d, %v; want all of 1 MiB and no error", n, err)
		}
		if i == 3 && !barDrawn.MatchString(buf.String()) {
			t.Errorf("bar at half way %q: want it to match %s", buf.String(), barDrawn)
		}
	}
	p.end(true)
	if !barDone.MatchString(buf.String()) {
		t.Errorf("finished bar %q: want it to end matching %s", buf.String(), barDone)
	}
}
