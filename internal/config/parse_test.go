package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goodCases parse and validate; check inspects the result.
var goodCases = []struct {
	name  string
	input string
	check func(t *testing.T, c Config)
}{
	{
		name:  "empty object keeps every default",
		input: `{}`,
		check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("got %+v, want the defaults %+v", c, Default())
			}
		},
	},
	{
		name:  "one key overrides, its siblings keep defaults",
		input: `{"service": {"port": 9000}}`,
		check: func(t *testing.T, c Config) {
			wantInt(t, "service.port", c.Service.Port, 9000)
			wantInt(t, "service.port_range[1]", c.Service.PortRange[1], 8100)
			wantString(t, "service.log_level", c.Service.LogLevel, "info")
		},
	},
	{
		name: "listed endpoints replace the defaults whole",
		input: `{"storage": {"endpoints": [
			{"id": "s3-backup", "type": "s3", "role": "backup",
			 "adapter_config": {"bucket": "att-backup", "region": "us-east-1",
			  "endpoint": "minio.local:9000", "access_key": "AK", "secret_key": "SK",
			  "prefix": "cluster-a/", "use_ssl": true}},
			{"id": "disk", "type": "local", "role": "primary",
			 "adapter_config": {"path": "/srv/attachments"}}]}}`,
		check: func(t *testing.T, c Config) {
			wantInt(t, "len(storage.endpoints)", len(c.Storage.Endpoints), 2)
			wantString(t, "PrimaryPath()", c.PrimaryPath(), "/srv/attachments")
			wantString(t, "storage.endpoints[0].adapter_config.bucket",
				c.Storage.Endpoints[0].AdapterConfig.Bucket, "att-backup")
			if !c.Storage.Endpoints[0].AdapterConfig.UseSSL {
				t.Errorf("storage.endpoints[0].adapter_config.use_ssl: got false, want true")
			}
		},
	},
	{
		name:  "null keeps the default",
		input: `{"service": null, "storage": {"endpoints": null, "gc_grace": null}}`,
		check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("got %+v, want the defaults", c)
			}
		},
	},
	{
		name:  "durations are go duration strings",
		input: `{"storage": {"gc_grace": "90s", "gc_interval": "1h30m"}}`,
		check: func(t *testing.T, c Config) {
			wantDuration(t, "storage.gc_grace", c.Storage.GCGrace.Duration(), 90*time.Second)
			wantDuration(t, "storage.gc_interval", c.Storage.GCInterval.Duration(), 90*time.Minute)
		},
	},
	{
		name: "production with its own secret",
		input: `{"service": {"environment": "production"},
			"security": {"jwt_secret": "0123456789abcdef0123456789abcdef"}}`,
		check: func(t *testing.T, c Config) {
			wantString(t, "service.environment", string(c.Service.Environment), "production")
		},
	},
	{
		name: "allowed mime types, zero port range, explicit raft port",
		input: `{"service": {"port_range": [0, 0], "advertise": "node-1.internal"},
			"security": {"allowed_mime_types": ["image/png", "application/pdf"]},
			"cluster": {"node_id": "node-1", "raft_port": 7000}}`,
		check: func(t *testing.T, c Config) {
			wantInt(t, "len(security.allowed_mime_types)", len(c.Security.AllowedMIMETypes), 2)
			wantInt(t, "cluster.raft_port", c.Cluster.RaftPort, 7000)
			wantString(t, "service.advertise", c.Service.Advertise, "node-1.internal")
		},
	},
	{
		name:  "port far from the range",
		input: `{"service": {"port": 18090}}`,
		check: func(t *testing.T, c Config) {
			wantInt(t, "service.port", c.Service.Port, 18090)
		},
	},
	{
		name:  "port range beside the port, log level",
		input: `{"service": {"port": 8200, "port_range": [8300, 8310], "log_level": "debug"}}`,
		check: func(t *testing.T, c Config) {
			wantInt(t, "service.port_range[0]", c.Service.PortRange[0], 8300)
			wantString(t, "Level()", c.Service.Level().String(), "DEBUG")
		},
	},
}

func TestParseGood(t *testing.T) {
	for _, tc := range goodCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after Parse: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// badCases fail to parse; the error must match want and contain msg,
// which starts with the key path the problem concerns.
var badCases = []struct {
	name  string
	input string
	want  error
	msg   string
}{
	{"port out of range", `{"service": {"port": 70000}}`,
		ErrInvalid, "service.port: must be 1-65535, got 70000"},
	{"unknown top-level key", `{"servce": {}}`,
		ErrUnknownKey, `servce: unknown key (did you mean "service"?)`},
	{"unknown nested key with full path",
		`{"storage": {"endpoints": [{"id": "a", "type": "local", "role": "primary",
			"adapter_config": {"path": "/d", "bukket": "x"}}]}}`,
		ErrUnknownKey, `storage.endpoints[0].adapter_config.bukket: unknown key`},
	{"unknown key far from any known", `{"cluster": {"zzzzzzzz": 1}}`,
		ErrUnknownKey, "cluster.zzzzzzzz: unknown key (known keys here: auto_add, " +
			"down_out_interval, gossip_port, join, node_id, raft_port, rebalance_interval, " +
			"replicas, weight, zone)"},
	{"negative down-out interval", `{"cluster": {"down_out_interval": "-1s"}}`,
		ErrInvalid, "cluster.down_out_interval: must be positive, got -1s"},
	{"replicas too many", `{"cluster": {"replicas": 40}}`,
		ErrInvalid, "cluster.replicas"},
	{"empty join address", `{"cluster": {"join": [""]}}`,
		ErrInvalid, "cluster.join[0]: must be host:port or http://host:port"},
	{"gossip port on the API range", `{"cluster": {"gossip_port": 8095}}`,
		ErrInvalid, "cluster.gossip_port: 8095 is a port the API or Raft may bind"},
	{"keys match case-sensitively", `{"service": {"Port": 9000}}`,
		ErrUnknownKey, `service.Port: unknown key (did you mean "port"?)`},
	{"duplicate key", `{"service": {"port": 9000, "port": 9001}}`,
		ErrUnknownKey, "service.port: key appears twice"},
	{"string for an integer", `{"service": {"port": "8090"}}`,
		ErrType, `service.port: want an integer, got the string "8090"`},
	{"fraction for an integer", `{"service": {"port": 80.5}}`,
		ErrType, "service.port: want an integer, got 80.5"},
	{"number for a duration", `{"storage": {"gc_grace": 60}}`,
		ErrType, "storage.gc_grace: want a duration string"},
	{"unparsable duration", `{"storage": {"gc_interval": "1 hour"}}`,
		ErrType, `storage.gc_interval: want a duration such as "90s" or "1h30m", got "1 hour"`},
	{"object for a string", `{"service": {"bind": {}}}`,
		ErrType, "service.bind: want a string, got an object"},
	{"string for a bool",
		`{"storage": {"endpoints": [{"adapter_config": {"use_ssl": "yes"}}]}}`,
		ErrType, "storage.endpoints[0].adapter_config.use_ssl: want true or false"},
	{"port range too long", `{"service": {"port_range": [1, 2, 3]}}`,
		ErrType, "service.port_range: want 2 elements, got more"},
	{"port range too short", `{"service": {"port_range": [1]}}`,
		ErrType, "service.port_range: want 2 elements, got 1"},
	{"top level is not an object", `[]`, ErrType, "want an object, got an array"},
	{"truncated document", "{\n  \"service\": {",
		ErrSyntax, "line 2, column 15: unexpected end of document"},
	{"bad token", "{\"service\": {\"port\": 1,}}", ErrSyntax, "line 1, column 24"},
	{"data after the object", `{} {}`, ErrSyntax, "unexpected data after the top-level object"},
	{"empty document", " \n", ErrSyntax, "empty document"},
	{"oversized document", `{"service": {"bind": "` + strings.Repeat("a", MaxFileBytes) + `"}}`,
		ErrSyntax, "larger than 1048576 bytes"},
	{"unknown environment", `{"service": {"environment": "prod"}}`,
		ErrInvalid, `service.environment: must be one of development, staging, production, ` +
			`got "prod"`},
	{"default secret in production", `{"service": {"environment": "production"}}`,
		ErrInvalid, "security.jwt_secret: must be set in production"},
	{"short secret", `{"security": {"jwt_secret": "hunter2"}}`,
		ErrInvalid, "security.jwt_secret: must be at least 32 bytes, got 7"},
	{"no endpoints", `{"storage": {"endpoints": []}}`,
		ErrInvalid, "storage.endpoints: must hold exactly one endpoint of type local " +
			"and role primary, found none"},
	{"two primaries", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "local", "role": "primary", "adapter_config": {"path": "/b"}}]}}`,
		ErrInvalid, "found storage.endpoints[0], storage.endpoints[1]"},
	{"s3 primary", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "s3", "role": "primary", "adapter_config": {"bucket": "bkt"}}]}}`,
		ErrInvalid, "storage.endpoints[1].role: must be backup or mirror for an s3 endpoint"},
	{"bad bucket name", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "s3", "role": "mirror",
			 "adapter_config": {"bucket": "Bad_Name"}}]}}`,
		ErrInvalid, "storage.endpoints[1].adapter_config.bucket: must be an S3 bucket name"},
	{"access key without secret", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "s3", "role": "backup",
			 "adapter_config": {"bucket": "bkt", "access_key": "AK"}}]}}`,
		ErrInvalid, "storage.endpoints[1].adapter_config.secret_key: access_key and secret_key"},
	{"s3 endpoint with a scheme", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "s3", "role": "backup",
			 "adapter_config": {"bucket": "bkt", "endpoint": "https://s3.example.com"}}]}}`,
		ErrInvalid, "storage.endpoints[1].adapter_config.endpoint: must be host or host:port"},
	{"s3 field on a local endpoint", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary",
			 "adapter_config": {"path": "/a", "bucket": "bkt"}}]}}`,
		ErrInvalid, "storage.endpoints[0].adapter_config.bucket: applies to s3 endpoints only"},
	{"local backup", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "b", "type": "local", "role": "backup", "adapter_config": {"path": "/b"}}]}}`,
		ErrInvalid, "storage.endpoints[1].role: must be primary for a local endpoint"},
	{"local without path", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary"}]}}`,
		ErrInvalid, "storage.endpoints[0].adapter_config.path: must name the data directory"},
	{"duplicate endpoint id", `{"storage": {"endpoints": [
			{"id": "a", "type": "local", "role": "primary", "adapter_config": {"path": "/a"}},
			{"id": "a", "type": "s3", "role": "backup", "adapter_config": {"bucket": "bkt"}}]}}`,
		ErrInvalid, `storage.endpoints[1].id: duplicate id "a", also at storage.endpoints[0]`},
	{"unknown endpoint type", `{"storage": {"endpoints": [
			{"id": "a", "type": "ftp", "role": "primary", "adapter_config": {"path": "/a"}}]}}`,
		ErrInvalid, `storage.endpoints[0].type: must be one of local, s3, got "ftp"`},
	{"bad endpoint id", `{"storage": {"endpoints": [
			{"id": "-a b", "type": "local", "role": "primary",
			 "adapter_config": {"path": "/a"}}]}}`,
		ErrInvalid, `storage.endpoints[0].id: must be 1-64 letters`},
	{"unknown log level", `{"service": {"log_level": "verbose"}}`,
		ErrInvalid, `service.log_level: must be one of debug, info, warn, error, got "verbose"`},
	{"bad bind", `{"service": {"bind": "not a host!"}}`,
		ErrInvalid, `service.bind: must be an IP address or host name, got "not a host!"`},
	{"unspecified advertise", `{"service": {"advertise": "0.0.0.0"}}`,
		ErrInvalid, "service.advertise: must be an address other nodes can reach"},
	{"advertise with a port", `{"service": {"advertise": "10.0.0.1:8090"}}`,
		ErrInvalid, "service.advertise: must be an IP address or host name without a port"},
	{"negative gc grace", `{"storage": {"gc_grace": "-1s"}}`,
		ErrInvalid, "storage.gc_grace: must be positive, got -1s"},
	{"zero gc interval", `{"storage": {"gc_interval": "0s"}}`,
		ErrInvalid, "storage.gc_interval: must be positive, got 0s"},
	{"zero pack size", `{"storage": {"pack_size_mb": 0}}`,
		ErrInvalid, "storage.pack_size_mb: must be 1-4096, got 0"},
	{"zero max file size", `{"security": {"max_file_size_mb": 0}}`,
		ErrInvalid, "security.max_file_size_mb: must be 1-1048576, got 0"},
	{"wildcard mime type", `{"security": {"allowed_mime_types": ["image/*"]}}`,
		ErrInvalid, `security.allowed_mime_types[0]: must be a lowercase media type`},
	{"mime type with parameters",
		`{"security": {"allowed_mime_types": ["image/png", "text/plain; charset=utf-8"]}}`,
		ErrInvalid, `security.allowed_mime_types[1]: must be a lowercase media type`},
	{"duplicate mime type", `{"security": {"allowed_mime_types": ["image/png", "image/png"]}}`,
		ErrInvalid, `security.allowed_mime_types[1]: duplicate "image/png"`},
	{"bad node id", `{"cluster": {"node_id": "node 1"}}`,
		ErrInvalid, `cluster.node_id: must be empty or 1-64 letters`},
	{"derived raft port overflows", `{"service": {"port": 64000, "port_range": [64000, 64600]}}`,
		ErrInvalid, "cluster.raft_port: 0 means API port + 1000, up to 65600, which is not a port"},
	{"derived raft port collides inside a wide range", `{"service": {"port_range": [8000, 9500]}}`,
		ErrInvalid, "cluster.raft_port: 0 means API port + 1000, which may be another API port"},
	{"derived raft port of the range is the port",
		`{"service": {"port": 9095}}`,
		ErrInvalid, "cluster.raft_port: 0 means API port + 1000, which may be another API port"},
	{"derived raft port of the port is in the range",
		`{"service": {"port": 7095}}`,
		ErrInvalid, "cluster.raft_port: 0 means API port + 1000, which may be another API port"},
	{"raft port equals api port",
		`{"service": {"port_range": [0, 0]}, "cluster": {"raft_port": 8090}}`,
		ErrInvalid, "cluster.raft_port: 8090 is a port the API may bind"},
	{"raft port inside port range", `{"cluster": {"raft_port": 8095}}`,
		ErrInvalid, "cluster.raft_port: 8095 is a port the API may bind"},
	{"raft port out of range", `{"cluster": {"raft_port": -1}}`,
		ErrInvalid, "cluster.raft_port: must be 1-65535, got -1"},
	{"reversed port range", `{"service": {"port_range": [8100, 8090]}}`,
		ErrInvalid, "service.port_range: must be ordered low to high, got [8100, 8090]"},
}

func TestParseBad(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error containing %q", c, tc.msg)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q: want errors.Is(err, %v)", err, tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ") || !strings.Contains(msg, tc.msg) {
				t.Errorf("error:\n got %q\nwant config: ...%s...", err, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines, want one", err)
			}
		})
	}
}

func TestParseErrorExactMessage(t *testing.T) {
	_, err := Parse(strings.NewReader(`{"service": {"port": 70000}}`))
	const want = "config: service.port: must be 1-65535, got 70000"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	fe, ok := errors.AsType[*FieldError](err)
	if !ok || fe.Path != "service.port" {
		t.Fatalf("errors.As *FieldError: got %#v, want Path service.port", fe)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Service.Port = 0
	c.Service.LogLevel = "loud"
	c.Security.JWTSecret = ""
	err := c.Validate()

	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("Validate: got %v, want a *ValidationError", err)
	}
	var paths []string
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	want := []string{"service.port", "service.log_level", "security.jwt_secret"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("problem paths: got %v, want %v (error %q)", paths, want, err)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(Default()): %v", err)
	}
	wantString(t, "PrimaryPath()", c.PrimaryPath(), "./data")
	wantString(t, "security.jwt_secret", c.Security.JWTSecret, DevelopmentJWTSecret)
	wantInt(t, "storage.pack_size_mb", c.Storage.PackSizeMB, 256)
	wantDuration(t, "storage.gc_grace", c.Storage.GCGrace.Duration(), time.Hour)
	wantInt(t, "cluster.raft_port", c.Cluster.RaftPort, 0)

	// Each call returns memory of its own.
	c.Storage.Endpoints[0].AdapterConfig.Path = "/elsewhere"
	c.Security.AllowedMIMETypes = append(c.Security.AllowedMIMETypes, "image/png")
	again := Default()
	wantString(t, "PrimaryPath() after a caller's edit", again.PrimaryPath(), "./data")
	wantInt(t, "len(allowed_mime_types) after a caller's edit",
		len(again.Security.AllowedMIMETypes), 0)
}

func TestSetPrimaryPath(t *testing.T) {
	c := Default()
	if !c.SetPrimaryPath("/var/lib/att") {
		t.Fatalf("SetPrimaryPath: got false on the defaults")
	}
	wantString(t, "PrimaryPath()", c.PrimaryPath(), "/var/lib/att")
	wantString(t, "Default().PrimaryPath()", Default().PrimaryPath(), "./data")

	c.Storage.Endpoints = nil
	if c.SetPrimaryPath("/x") || c.PrimaryPath() != "" {
		t.Errorf("with no endpoints: SetPrimaryPath true or PrimaryPath %q, want false and \"\"",
			c.PrimaryPath())
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, `{"service": {"port": 9100, "port_range": [9100, 9110]}}`)
	c, err := Load(good)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantInt(t, "service.port", c.Service.Port, 9100)

	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"service": {"port": 0}}`)
	_, err = Load(bad)
	want := "config " + bad + ": service.port: must be 1-65535, got 0"
	if err == nil || err.Error() != want {
		t.Errorf("Load(bad): got %v, want %q", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing): got %v, want os.ErrNotExist", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %d, want %d", what, got, want)
	}
}

func wantString(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func wantDuration(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
