package meta

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestHCLogAdapterLevels: the adapter's level queries follow the slog
// handler's level (SetLevel cannot override it), messages below it are
// dropped, and With and Named add context that every later line carries.
func TestHCLogAdapterLevels(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})
	l := newHCLogAdapter(slog.New(h))

	l.SetLevel(hclog.Trace)
	got := []bool{l.IsTrace(), l.IsDebug(), l.IsInfo(), l.IsWarn(), l.IsError()}
	if want := []bool{false, false, false, true, true}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Is* at warn: %v, want %v", got, want)
	}
	if lvl := l.GetLevel(); lvl != hclog.Warn {
		t.Fatalf("GetLevel at warn: %v", lvl)
	}
	l.Info("dropped")
	if buf.Len() != 0 {
		t.Fatalf("info line passed a warn handler: %q", buf.String())
	}

	w := l.With("peer", "n2").Named("raft").Named("net")
	if w.Name() != "raft.net" {
		t.Fatalf("nested name %q, want raft.net", w.Name())
	}
	if args := w.ImpliedArgs(); !reflect.DeepEqual(args, []any{"peer", "n2"}) {
		t.Fatalf("implied args %v", args)
	}
	w.Warn("slow")
	for _, want := range []string{"level=WARN", "msg=slow", "peer=n2", "subsystem=raft.net"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("line %q lacks %q", buf.String(), want)
		}
	}

	buf.Reset()
	sw := l.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error})
	if _, err := sw.Write([]byte("untagged failure\n")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("forced level ignored: %q", buf.String())
	}

	quiet := newHCLogAdapter(slog.New(slog.NewTextHandler(&buf,
		&slog.HandlerOptions{Level: slog.LevelError + 4})))
	if lvl := quiet.GetLevel(); lvl != hclog.Error {
		t.Fatalf("GetLevel above error: %v", lvl)
	}
}
