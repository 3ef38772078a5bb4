package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("90s", "10m", "1h30m"). A JSON number is rejected: a bare 60 could mean
// seconds or nanoseconds, and guessing wrong is silent.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.String without its zero trailing
// units: "1h" rather than "1h0m0s". ParseDuration reads the result back
// to the same value.
func (d Duration) String() string {
	s := time.Duration(d).String()
	s = strings.TrimSuffix(s, "m0s") + suffixIf(strings.HasSuffix(s, "m0s"), "m")
	s = strings.TrimSuffix(s, "h0m") + suffixIf(strings.HasSuffix(s, "h0m"), "h")
	return s
}

// suffixIf returns s when cond holds, else "".
func suffixIf(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// MarshalText writes d in the form of String.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// parseDuration parses s with time.ParseDuration and rewords its error so
// it reads well after a key path.
func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`want a duration such as "90s" or "1h30m", got %q`, s)
	}
	return Duration(v), nil
}
