package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressThreshold is the size above which a transfer shows a progress
// bar: smaller ones finish before a bar would say anything useful.
const progressThreshold = 4 << 20

// progressRedraw is the shortest time between two drawings of a bar:
// redrawing more often only costs CPU on a fast link.
const progressRedraw = 100 * time.Millisecond

// progress is a transfer's progress bar; the zero value (no bar) ignores
// every call, so callers need not check whether a bar is shown.
type progress struct {
	bar *progressbar.ProgressBar
	out io.Writer
}

// newProgress returns a bar for a transfer of size bytes, drawn on w, when
// w is a terminal and size is above progressThreshold; otherwise a silent
// progress. Scripts that redirect stderr thus see nothing but errors.
func newProgress(w io.Writer, size int64, desc string) progress {
	if size <= progressThreshold || !isTerminal(w) {
		return progress{}
	}
	return drawProgress(w, size, desc, progressRedraw)
}

// drawProgress returns a bar drawn on w whatever w is, at most once per
// redraw: bytes done of size, the rate and the elapsed and remaining
// time; once finished, the total and the elapsed time.
func drawProgress(w io.Writer, size int64, desc string, redraw time.Duration) progress {
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(redraw),
		progressbar.OptionSetRenderBlankState(true),
	)
	return progress{bar: bar, out: w}
}

// isTerminal reports whether w is a file open on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Write counts len(p) bytes as done; it never fails, so it can sit in an
// io.MultiWriter or io.TeeReader beside the real destination.
func (p progress) Write(b []byte) (int, error) {
	if p.bar != nil {
		// A drawing error is not the transfer's: the bytes still moved.
		_ = p.bar.Add(len(b))
	}
	return len(b), nil
}

// end draws the bar's final state and ends its line, whether the transfer
// finished or failed, so that an error message starts on a line of its own.
func (p progress) end(ok bool) {
	if p.bar == nil {
		return
	}
	if ok {
		_ = p.bar.Finish()
	} else {
		_ = p.bar.Exit()
	}
	fmt.Fprintln(p.out)
}
