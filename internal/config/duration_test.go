package config

import (
	"testing"
	"time"
)

func TestDurationString(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{in: 0, want: "0s"},
		{in: 90 * time.Second, want: "1m30s"},
		{in: time.Minute, want: "1m"},
		{in: 10 * time.Minute, want: "10m"},
		{in: time.Hour, want: "1h"},
		{in: 90 * time.Minute, want: "1h30m"},
		{in: time.Hour + time.Second, want: "1h0m1s"},
		{in: -time.Hour, want: "-1h"},
		{in: 1500 * time.Millisecond, want: "1.5s"},
		{in: 250 * time.Microsecond, want: "250µs"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			got := Duration(tc.in).String()
			if got != tc.want {
				t.Errorf("Duration(%d).String(): got %q, want %q", tc.in, got, tc.want)
			}
			back, err := time.ParseDuration(got)
			if err != nil || back != tc.in {
				t.Errorf("ParseDuration(%q): got %v, %v, want %v", got, back, err, tc.in)
			}
		})
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("2h45m")); err != nil || d.Duration() != 165*time.Minute {
		t.Errorf(`UnmarshalText("2h45m"): got %v, %v, want 2h45m`, d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Errorf(`UnmarshalText("soon"): got nil error, want one`)
	}
}
