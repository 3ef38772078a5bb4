package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse. It must never panic; a
// rejection must match one of the package's sentinels on one line; an
// accepted configuration must validate and survive a round trip through
// JSONWithSecrets unchanged.
func FuzzParse(f *testing.F) {
	for _, tc := range goodCases {
		f.Add([]byte(tc.input))
	}
	for _, tc := range badCases {
		if len(tc.input) < 4096 {
			f.Add([]byte(tc.input))
		}
	}
	f.Add(DefaultsJSON())

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			checkRejection(t, err)
			return
		}
		checkAccepted(t, c)
	})
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	known := errors.Is(err, ErrSyntax) || errors.Is(err, ErrUnknownKey) ||
		errors.Is(err, ErrType) || errors.Is(err, ErrInvalid)
	if !known {
		t.Errorf("Parse error %q matches no sentinel", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Parse error %q spans several lines", err)
	}
}

func checkAccepted(t *testing.T, c Config) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("Parse accepted a config Validate rejects: %v", err)
	}
	if c.PrimaryPath() == "" {
		t.Fatalf("Parse accepted a config without a primary path")
	}
	out, err := c.JSONWithSecrets()
	if err != nil {
		t.Fatalf("JSONWithSecrets: %v", err)
	}
	back, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Parse(JSONWithSecrets()): %v\n%s", err, out)
	}
	again, err := back.JSONWithSecrets()
	if err != nil {
		t.Fatalf("JSONWithSecrets after round trip: %v", err)
	}
	if !bytes.Equal(out, again) {
		t.Fatalf("round trip changed the config:\nfirst:\n%s\nsecond:\n%s", out, again)
	}
}
