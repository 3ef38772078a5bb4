package meta

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogAdapter(t *testing.T) {
	cases := []struct {
		name string
		emit func(l hclog.Logger)
		want []string
	}{
		{
			name: "error key renamed",
			emit: func(l hclog.Logger) { l.Error("failed", "error", errors.New("boom")) },
			want: []string{"level=ERROR", "msg=failed", "err=boom"},
		},
		{
			name: "format value",
			emit: func(l hclog.Logger) { l.Info("config", "servers", hclog.Fmt("%d voters", 3)) },
			want: []string{"level=INFO", `servers="3 voters"`},
		},
		{
			name: "odd argument kept",
			emit: func(l hclog.Logger) { l.Warn("odd", "k", "v", "lonely") },
			want: []string{"level=WARN", "k=v", "extra=lonely"},
		},
		{
			name: "trace becomes debug, named",
			emit: func(l hclog.Logger) { l.Named("net").Trace("rpc") },
			want: []string{"level=DEBUG", "subsystem=net"},
		},
		{
			name: "standard logger infers level",
			emit: func(l hclog.Logger) {
				l.StandardLogger(nil).Print("[WARN] raft: slow peer")
			},
			want: []string{"level=WARN", `msg="raft: slow peer"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			tc.emit(newHCLogAdapter(slog.New(h)))
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Fatalf("got %q, want it to contain %q", buf.String(), w)
				}
			}
		})
	}
}
