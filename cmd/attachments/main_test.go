package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/helixtrack/attachments/internal/config"
)

// result is what one invocation of the binary produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// invoke runs the command line args in-process, as main would.
func invoke(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// wantExit fails the test unless r ended with code and its stderr holds
// every one of fragments on a single line.
func wantExit(t *testing.T, r result, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status: got %d, want %d\nstdout: %s\nstderr: %s",
			r.code, code, r.stdout, r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("stderr: got %q, want it to contain %q", r.stderr, f)
		}
	}
	if code != exitOK && strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n") != 0 {
		t.Errorf("stderr: got %q, want one line", r.stderr)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown command", args: []string{"frobnicate"},
			want: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"version", "--verbose"},
			want: "unknown flag: --verbose"},
		{name: "stray argument", args: []string{"config", "print", "extra"}, want: `"extra"`},
		{name: "bad flag value", args: []string{"serve", "--port", "http"}, want: "--port"},
		{name: "port out of range", args: []string{"serve", "--port", "70000"},
			want: "--port: must be 1-65535, got 70000"},
		{name: "empty data dir", args: []string{"serve", "--data", ""},
			want: "--data: must name a directory"},
		{name: "token without user", args: []string{"token", "--perms", "read"},
			want: `required flag(s) "user" not set`},
		{name: "token without perms", args: []string{"token", "--user", "u"},
			want: `required flag(s) "perms" not set`},
		{name: "token with unknown perm",
			args: []string{"token", "--user", "u", "--perms", "read,root"},
			want: `--perms: unknown permission "root"`},
		{name: "token with empty perm", args: []string{"token", "--user", "u", "--perms", "read,"},
			want: `--perms: unknown permission ""`},
		{name: "token with negative ttl",
			args: []string{"token", "--user", "u", "--perms", "read", "--ttl", "-1m"},
			want: "--ttl: must be positive, got -1m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, tc.args...)
			wantExit(t, r, exitUsage, "attachments", tc.want, "--help')")
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", r.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := invoke(t, "version")
	wantExit(t, r, exitOK)
	if !strings.HasPrefix(r.stdout, "attachments ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("stdout: got %q, want \"attachments <version> (go1.x os/arch)\"", r.stdout)
	}
}

func TestHelp(t *testing.T) {
	r := invoke(t, "--help")
	wantExit(t, r, exitOK)
	for _, sub := range []string{"serve", "config", "token", "version"} {
		if !strings.Contains(r.stdout, sub) {
			t.Errorf("help does not list %q:\n%s", sub, r.stdout)
		}
	}
}

func TestConfigPrintDefaults(t *testing.T) {
	r := invoke(t, "config", "print")
	wantExit(t, r, exitOK)

	var got config.Config
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not a configuration: %v\n%s", err, r.stdout)
	}
	want := config.Default().Redacted()
	if got.Service != want.Service || got.PrimaryPath() != "./data" ||
		got.Security.JWTSecret != config.Mask {
		t.Errorf("printed config:\n got %+v\nwant %+v", got, want)
	}
	if strings.Contains(r.stdout, config.DevelopmentJWTSecret) {
		t.Errorf("stdout shows the JWT secret:\n%s", r.stdout)
	}
}

func TestConfigPrintFile(t *testing.T) {
	const secret = "file-secret-file-secret-file-secret"
	path := writeConfig(t, `{"service": {"port": 9300, "port_range": [9300, 9310]},
		"security": {"jwt_secret": "`+secret+`"}}`)

	r := invoke(t, "config", "print", "--config", path)
	wantExit(t, r, exitOK)
	if !strings.Contains(r.stdout, `"port": 9300`) || strings.Contains(r.stdout, secret) {
		t.Errorf("stdout: want port 9300 and the secret masked, got\n%s", r.stdout)
	}

	// --show-secrets prints a file that loads back to the same thing.
	r = invoke(t, "config", "print", "--config", path, "--show-secrets")
	wantExit(t, r, exitOK)
	again := writeConfig(t, r.stdout)
	r2 := invoke(t, "config", "print", "--config", again, "--show-secrets")
	wantExit(t, r2, exitOK)
	if r2.stdout != r.stdout || !strings.Contains(r.stdout, secret) {
		t.Errorf("round trip through --show-secrets:\nfirst:\n%s\nsecond:\n%s", r.stdout, r2.stdout)
	}
}

func TestConfigErrorsAreRuntimeErrors(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    string
	}{
		{name: "out of range", content: `{"service": {"port": 70000}}`,
			want: "service.port: must be 1-65535, got 70000"},
		{name: "unknown key",
			content: `{"storage": {"endpoints": [{"adapter_config": {"pth": "x"}}]}}`,
			want:    `storage.endpoints[0].adapter_config.pth: unknown key (did you mean "path"?)`},
		{name: "several problems on one line",
			content: `{"service": {"port": 0, "log_level": "loud"}}`,
			want:    `service.port: must be 1-65535, got 0; service.log_level: must be one of`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			for _, args := range [][]string{
				{"config", "print", "--config", path},
				{"token", "--config", path, "--user", "u", "--perms", "read"},
				{"serve", "--config", path},
			} {
				wantExit(t, invoke(t, args...), exitRuntime, path, tc.want)
			}
		})
	}
	wantExit(t, invoke(t, "config", "print", "--config", "/nonexistent/c.json"),
		exitRuntime, "no such file or directory")
}

func TestServeOverridesAreValidated(t *testing.T) {
	// --port makes the derived Raft port (port + 1000) leave the port space.
	r := invoke(t, "serve", "--port", "65000")
	wantExit(t, r, exitRuntime, "cluster.raft_port: 0 means API port + 1000")
}

// claims mirrors the token payload, read here with the JWT library itself
// so the test does not trust the code that wrote the token.
type claims struct {
	jwt.RegisteredClaims
	Perms []string `json:"perms"`
}

func TestTokenVerifiesWithTheSecret(t *testing.T) {
	const secret = "token-test-secret-token-test-secret"
	path := writeConfig(t, `{"security": {"jwt_secret": "`+secret+`"}}`)
	cases := []struct {
		name   string
		args   []string
		secret string
		perms  []string
		ttl    time.Duration
		note   bool
	}{
		{name: "defaults", args: []string{"--perms", "read,write,delete"},
			secret: config.DevelopmentJWTSecret, perms: []string{"read", "write", "delete"},
			ttl: time.Hour, note: true},
		{name: "config file and ttl",
			args:   []string{"--config", path, "--perms", "admin", "--ttl", "15m"},
			secret: secret, perms: []string{"admin"}, ttl: 15 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			r := invoke(t, append([]string{"token", "--user", "alice"}, tc.args...)...)
			wantExit(t, r, exitOK)
			if got := strings.Contains(r.stderr, "development secret"); got != tc.note {
				t.Errorf("stderr %q: development-secret note shown %v, want %v",
					r.stderr, got, tc.note)
			}

			var c claims
			_, err := jwt.ParseWithClaims(strings.TrimSpace(r.stdout), &c,
				func(*jwt.Token) (any, error) { return []byte(tc.secret), nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
			if err != nil {
				t.Fatalf("token %q does not verify: %v", r.stdout, err)
			}
			if c.Subject != "alice" || !slices.Equal(c.Perms, tc.perms) {
				t.Errorf("claims: got sub %q perms %v, want alice %v", c.Subject, c.Perms, tc.perms)
			}
			if life := c.ExpiresAt.Sub(before); life < tc.ttl || life > tc.ttl+2*time.Second {
				t.Errorf("token lives %v from the call, want about %v", life, tc.ttl)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once,
// for reading the logs of a serve that is still running.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
