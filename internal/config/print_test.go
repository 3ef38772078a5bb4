package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// withS3 returns the defaults plus an S3 backup tier holding a secret key.
func withS3(t *testing.T) Config {
	t.Helper()
	c := Default()
	c.Security.JWTSecret = "a-very-private-secret-of-32-bytes!!"
	c.Storage.Endpoints = append(c.Storage.Endpoints, Endpoint{
		ID: "backup", Type: S3, Role: Backup,
		AdapterConfig: AdapterConfig{Bucket: "bkt", AccessKey: "AKID", SecretKey: "s3-private"},
	})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

func TestJSONMasksSecrets(t *testing.T) {
	c := withS3(t)
	out, err := c.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	for _, secret := range []string{"a-very-private-secret", "s3-private"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("JSON output shows secret %q:\n%s", secret, out)
		}
	}
	if n := bytes.Count(out, []byte(`"`+Mask+`"`)); n != 2 {
		t.Errorf("JSON output holds %d masked values, want 2:\n%s", n, out)
	}
	if !bytes.Contains(out, []byte(`"access_key": "AKID"`)) {
		t.Errorf("JSON output hides the access key id, want it shown:\n%s", out)
	}

	// Masking works on a copy.
	wantString(t, "security.jwt_secret after JSON", c.Security.JWTSecret,
		"a-very-private-secret-of-32-bytes!!")
	wantString(t, "endpoints[1].secret_key after JSON",
		c.Storage.Endpoints[1].AdapterConfig.SecretKey, "s3-private")

	// A masked document cannot be loaded back by mistake.
	_, err = Parse(bytes.NewReader(out))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "security.jwt_secret") {
		t.Errorf("Parse(JSON()): got %v, want a security.jwt_secret error", err)
	}
}

func TestJSONWithSecretsRoundTrips(t *testing.T) {
	c := withS3(t)
	out, err := c.JSONWithSecrets()
	if err != nil {
		t.Fatalf("JSONWithSecrets: %v", err)
	}
	back, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Parse(JSONWithSecrets()): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

// TestDefaultsFileIsCanonical keeps defaults.json complete and written the
// way JSON writes it, so `config print` and the shipped file agree key by key.
func TestDefaultsFileIsCanonical(t *testing.T) {
	printed, err := Default().JSONWithSecrets()
	if err != nil {
		t.Fatalf("JSONWithSecrets: %v", err)
	}
	var fromFile, fromPrint map[string]any
	if err := json.Unmarshal(DefaultsJSON(), &fromFile); err != nil {
		t.Fatalf("defaults.json: %v", err)
	}
	if err := json.Unmarshal(printed, &fromPrint); err != nil {
		t.Fatalf("printed defaults: %v", err)
	}

	// JSON writes every field of an endpoint's adapter_config; the file
	// lists only the path. Compare after filling the file's gaps.
	full := fromPrint["storage"].(map[string]any)["endpoints"].([]any)[0]
	fileEP := fromFile["storage"].(map[string]any)["endpoints"].([]any)[0]
	for k, v := range full.(map[string]any)["adapter_config"].(map[string]any) {
		ac := fileEP.(map[string]any)["adapter_config"].(map[string]any)
		if _, ok := ac[k]; !ok {
			ac[k] = v
		}
	}
	if !reflect.DeepEqual(fromFile, fromPrint) {
		t.Errorf("defaults.json and the printed defaults differ:\nfile:  %v\nprint: %v",
			fromFile, fromPrint)
	}
}
