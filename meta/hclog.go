package meta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter sends hashicorp/raft's hclog output to a *slog.Logger.
// Levels map one to one, except Trace, which becomes Debug. The level is
// left to the slog handler; SetLevel does nothing.
type hclogAdapter struct {
	logger *slog.Logger
	name   string
	// implied are the args given to With, kept for ImpliedArgs.
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogAdapter(l *slog.Logger) *hclogAdapter { return &hclogAdapter{logger: l} }

// slogLevel maps an hclog level to slog.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// slogArgs turns hclog key/value pairs into slog attributes: hclog.Format
// values are formatted, "error" becomes the house key "err", and an odd
// value out is kept under "extra".
func slogArgs(args []any) []any {
	out := make([]any, 0, len(args)+1)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, "extra", args[i])
			break
		}
		key := fmt.Sprint(args[i])
		if key == "error" {
			key = "err"
		}
		val := args[i+1]
		if f, ok := val.(hclog.Format); ok && len(f) > 0 {
			val = fmt.Sprintf(fmt.Sprint(f[0]), f[1:]...)
		}
		out = append(out, key, val)
	}
	return out
}

// The methods below implement hclog.Logger for raft.

// Log emits msg at the mapped level, with the subsystem name, if the slog
// handler takes that level.
func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl := slogLevel(level)
	if !h.logger.Enabled(context.Background(), lvl) {
		return
	}
	attrs := slogArgs(args)
	if h.name != "" {
		attrs = append(attrs, "subsystem", h.name)
	}
	h.logger.Log(context.Background(), lvl, msg, attrs...)
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) enabled(l slog.Level) bool {
	return h.logger.Enabled(context.Background(), l)
}

func (h *hclogAdapter) IsTrace() bool { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsDebug() bool { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsInfo() bool  { return h.enabled(slog.LevelInfo) }
func (h *hclogAdapter) IsWarn() bool  { return h.enabled(slog.LevelWarn) }
func (h *hclogAdapter) IsError() bool { return h.enabled(slog.LevelError) }

func (h *hclogAdapter) ImpliedArgs() []any { return h.implied }

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	return &hclogAdapter{
		logger:  h.logger.With(slogArgs(args)...),
		name:    h.name,
		implied: append(append([]any(nil), h.implied...), args...),
	}
}

func (h *hclogAdapter) Name() string { return h.name }

func (h *hclogAdapter) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{logger: h.logger, name: name, implied: h.implied}
}

// SetLevel does nothing: the slog handler owns the level.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

func (h *hclogAdapter) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Debug, hclog.Info, hclog.Warn} {
		if h.enabled(slogLevel(l)) {
			return l
		}
	}
	return hclog.Error
}

func (h *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	w := &lineWriter{h: h, level: hclog.Info}
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		w.level = opts.ForceLevel
	}
	return w
}

// lineWriter logs each write as one message, taking the level from a
// leading "[ERR]", "[WARN]" or "[DEBUG]" tag as the standard library
// loggers of hashicorp packages write them.
type lineWriter struct {
	h     *hclogAdapter
	level hclog.Level
}

var levelTags = []struct {
	tag   []byte
	level hclog.Level
}{
	{tag: []byte("[ERR]"), level: hclog.Error},
	{tag: []byte("[ERROR]"), level: hclog.Error},
	{tag: []byte("[WARN]"), level: hclog.Warn},
	{tag: []byte("[INFO]"), level: hclog.Info},
	{tag: []byte("[DEBUG]"), level: hclog.Debug},
	{tag: []byte("[TRACE]"), level: hclog.Trace},
}

// Write logs p as one message and never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := w.level
	for _, t := range levelTags {
		if bytes.HasPrefix(line, t.tag) {
			level = t.level
			line = bytes.TrimSpace(line[len(t.tag):])
			break
		}
	}
	w.h.Log(level, string(line))
	return len(p), nil
}
