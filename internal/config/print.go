package config

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Mask replaces a secret in JSON output.
const Mask = "***"

// Redacted returns a copy of c with every non-empty secret replaced by
// Mask: security.jwt_secret and each endpoint's adapter_config.secret_key.
// An empty secret stays empty, so the output still shows it is unset.
// Access key IDs are not secrets and stay visible.
func (c Config) Redacted() Config {
	c = c.clone()
	if c.Security.JWTSecret != "" {
		c.Security.JWTSecret = Mask
	}
	for i := range c.Storage.Endpoints {
		if c.Storage.Endpoints[i].AdapterConfig.SecretKey != "" {
			c.Storage.Endpoints[i].AdapterConfig.SecretKey = Mask
		}
	}
	return c
}

// JSON returns c as indented JSON with a trailing newline, secrets masked
// as by Redacted. The output has the shape Parse reads, but a masked
// secret is too short to pass Validate, so the output of JSON cannot be
// fed back by mistake; use JSONWithSecrets for a file to load again.
func (c Config) JSON() ([]byte, error) {
	return c.Redacted().marshal()
}

// JSONWithSecrets is JSON without masking. Its output is a complete
// configuration: Parse reads it back to a Config whose JSONWithSecrets
// output is the same bytes.
func (c Config) JSONWithSecrets() ([]byte, error) {
	return c.marshal()
}

// marshal encodes c as indented JSON. Nil slices are written as [] rather
// than null, which reads better and parses to the same configuration.
func (c Config) marshal() ([]byte, error) {
	c = c.clone()
	if c.Storage.Endpoints == nil {
		c.Storage.Endpoints = []Endpoint{}
	}
	if c.Security.AllowedMIMETypes == nil {
		c.Security.AllowedMIMETypes = []string{}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config: encode json: %w", err)
	}
	return slices.Concat(b, []byte("\n")), nil
}
