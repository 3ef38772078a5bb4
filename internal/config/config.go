package config

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
)

// DevelopmentJWTSecret is the JWT signing secret in the embedded defaults.
// It is public, so anyone can mint tokens a node using it accepts; it exists
// so a development node starts with no configuration at all. Validate
// refuses it when service.environment is "production".
const DevelopmentJWTSecret = "development-only-insecure-jwt-secret-change-me"

// Environment names the kind of deployment a node runs in.
type Environment string

// The environments service.environment accepts.
const (
	Development Environment = "development"
	Staging     Environment = "staging"
	Production  Environment = "production"
)

// EndpointType names the adapter behind a storage endpoint.
type EndpointType string

// The endpoint types storage.endpoints[].type accepts.
const (
	// Local keeps data in a directory of the node's own file system.
	Local EndpointType = "local"
	// S3 keeps data in a bucket of an S3-compatible service.
	S3 EndpointType = "s3"
)

// Role says what a storage endpoint is for.
type Role string

// The roles storage.endpoints[].role accepts.
const (
	// Primary holds the cluster's own copy; exactly one local endpoint has it.
	Primary Role = "primary"
	// Backup holds whole files and metadata snapshots to rebuild from.
	Backup Role = "backup"
	// Mirror holds a read copy for consumers outside the cluster.
	Mirror Role = "mirror"
)

// Config is the whole configuration of one node. The zero value is not
// useful; start from Default, Parse or Load.
type Config struct {
	Service  Service  `json:"service"`
	Storage  Storage  `json:"storage"`
	Security Security `json:"security"`
	Cluster  Cluster  `json:"cluster"`
}

// Service configures the HTTP listener and process-wide settings.
type Service struct {
	// Port is the API port the node tries first, 1-65535.
	Port int `json:"port"`
	// PortRange is the inclusive range of ports tried, in order, when Port
	// is taken. [0, 0] disables the fallback; otherwise 1 <= lo <= hi.
	PortRange [2]int `json:"port_range"`
	// Environment is development, staging or production.
	Environment Environment `json:"environment"`
	// Bind is the IP address or host name the listeners bind to.
	Bind string `json:"bind"`
	// Advertise is the host other nodes and clients use to reach this node,
	// without a port. Empty means 127.0.0.1, right for a one-host cluster.
	Advertise string `json:"advertise"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
}

// Storage configures where data is kept and how it is collected.
type Storage struct {
	// Endpoints lists every storage endpoint. Exactly one is local with
	// role primary; S3 endpoints are backup or mirror tiers.
	Endpoints []Endpoint `json:"endpoints"`
	// GCGrace is how long an unreferenced chunk survives before the
	// collector may delete it, so that a write in flight can still commit.
	GCGrace Duration `json:"gc_grace"`
	// GCInterval is the period of the garbage collector.
	GCInterval Duration `json:"gc_interval"`
	// PackSizeMB is the size, in MiB, at which a pack file is sealed.
	PackSizeMB int `json:"pack_size_mb"`
}

// Endpoint is one storage endpoint.
type Endpoint struct {
	// ID names the endpoint in logs, metrics and replication state.
	ID string `json:"id"`
	// Type selects the adapter: local or s3.
	Type EndpointType `json:"type"`
	// Role is primary, backup or mirror.
	Role Role `json:"role"`
	// AdapterConfig holds the adapter's settings; which fields apply
	// depends on Type.
	AdapterConfig AdapterConfig `json:"adapter_config"`
}

// AdapterConfig holds the settings of every adapter type. A local endpoint
// uses Path only; an S3 endpoint uses the others.
type AdapterConfig struct {
	// Path is the data directory of a local endpoint.
	Path string `json:"path"`
	// Endpoint is the S3 service's host[:port]; empty means AWS.
	Endpoint string `json:"endpoint"`
	// Bucket is the S3 bucket name.
	Bucket string `json:"bucket"`
	// Region is the S3 region.
	Region string `json:"region"`
	// AccessKey is the S3 access key ID.
	AccessKey string `json:"access_key"`
	// SecretKey is the S3 secret key; JSON masks it.
	SecretKey string `json:"secret_key"`
	// Prefix is prepended to every object key the tier writes.
	Prefix string `json:"prefix"`
	// UseSSL selects HTTPS for the S3 service.
	UseSSL bool `json:"use_ssl"`
}

// Security configures authentication and upload limits.
type Security struct {
	// JWTSecret signs and verifies bearer tokens (HS256). At least 32
	// bytes; never DevelopmentJWTSecret in production. JSON masks it.
	JWTSecret string `json:"jwt_secret"`
	// MaxFileSizeMB is the largest upload accepted, in MiB.
	MaxFileSizeMB int `json:"max_file_size_mb"`
	// AllowedMIMETypes lists the detected media types uploads may have,
	// as lowercase "type/subtype". Empty allows any.
	AllowedMIMETypes []string `json:"allowed_mime_types"`
}

// Cluster configures this node's identity and consensus traffic.
type Cluster struct {
	// NodeID names this node in the cluster. Empty means the node derives
	// an ID on first start and persists it under its data directory.
	NodeID string `json:"node_id"`
	// RaftPort is the port of Raft traffic. 0 means 1000 above the API
	// port the node actually binds, so nodes sharing a host and a port
	// range also get distinct Raft ports.
	RaftPort int `json:"raft_port"`
	// GossipPort is the port of membership gossip (TCP and UDP). 0 means
	// 2000 above the API port the node actually binds.
	GossipPort int `json:"gossip_port"`
	// Join lists API addresses (host:port or http://host:port) of members
	// to join through. Empty: a node without existing state bootstraps a
	// new cluster; a restarted node rejoins the members it knew.
	Join []string `json:"join"`
	// Zone is this node's failure domain; copies of a chunk go to distinct
	// zones first. Empty is a zone of its own.
	Zone string `json:"zone"`
	// Weight is this node's relative capacity; 0 means the default, 100.
	Weight int `json:"weight"`
	// Replicas is the replication factor a bootstrapping node records in
	// the layout; 0 means min(3, active nodes).
	Replicas int `json:"replicas"`
	// AutoAdd makes a joining node enter the layout by itself; when false it
	// waits as a member that owns nothing until an operator adds it.
	AutoAdd bool `json:"auto_add"`
	// DownOutInterval is how long a member may stay unreachable before the
	// leader marks it out and its chunks are copied elsewhere.
	DownOutInterval Duration `json:"down_out_interval"`
	// RebalanceInterval is the period of the pass that moves chunks to
	// their owners and fills in missing copies.
	RebalanceInterval Duration `json:"rebalance_interval"`
}

//go:embed defaults.json
var defaultsJSON []byte

// defaults decodes the embedded defaults once. A failure is a broken
// build, not bad input, so it panics.
var defaults = sync.OnceValue(func() Config {
	var c Config
	if err := decode(defaultsJSON, &c); err != nil {
		panic(fmt.Sprintf("config: embedded defaults.json: %v", err))
	}
	if err := c.validate(); err != nil {
		panic(fmt.Sprintf("config: embedded defaults.json: %v", err))
	}
	return c
})

// Default returns the embedded defaults: a valid development configuration
// with one local primary endpoint at ./data. Each call returns a fresh copy
// the caller may modify.
func Default() Config {
	return defaults().clone()
}

// DefaultsJSON returns the embedded defaults.json exactly as shipped.
func DefaultsJSON() []byte {
	return slices.Clone(defaultsJSON)
}

// Parse reads one JSON object from r, overlays it on the defaults and
// validates the result. It reads at most MaxFileBytes. Errors read
// "config: <key path>: <reason>" and match ErrSyntax, ErrUnknownKey,
// ErrType or ErrInvalid with errors.Is; a *FieldError (or a
// *ValidationError holding several) is available through errors.As.
func Parse(r io.Reader) (Config, error) {
	c, err := parse(r)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Load is Parse on the file at path. Its errors name the file before the
// key: "config /etc/attachments.json: service.port: must be 1-65535, got 0".
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()

	c, err := parse(f)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// parse is Parse without the package prefix on its errors.
func parse(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileBytes {
		return Config{}, &FieldError{
			Reason: fmt.Sprintf("larger than %d bytes", MaxFileBytes),
			Err:    ErrSyntax,
		}
	}

	c := Default()
	if err := decodeOverlay(data, &c); err != nil {
		return Config{}, err
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// PrimaryPath returns the directory of the local primary endpoint, or ""
// when there is none (which Validate reports).
func (c Config) PrimaryPath() string {
	if i := c.primaryIndex(); i >= 0 {
		return c.Storage.Endpoints[i].AdapterConfig.Path
	}
	return ""
}

// SetPrimaryPath points the local primary endpoint at dir, as the serve
// command's --data flag does. It reports false when there is no local
// primary endpoint.
func (c *Config) SetPrimaryPath(dir string) bool {
	i := c.primaryIndex()
	if i < 0 {
		return false
	}
	c.Storage.Endpoints[i].AdapterConfig.Path = dir
	return true
}

// primaryIndex returns the index of the first local primary endpoint, or -1.
func (c Config) primaryIndex() int {
	return slices.IndexFunc(c.Storage.Endpoints, func(e Endpoint) bool {
		return e.Type == Local && e.Role == Primary
	})
}

// Level returns LogLevel as a slog.Level. An unknown level, which Validate
// rejects, yields slog.LevelInfo.
func (s Service) Level() slog.Level {
	if l, ok := logLevels[s.LogLevel]; ok {
		return l
	}
	return slog.LevelInfo
}

// clone returns a deep copy: the slices of the copy share no memory with c.
func (c Config) clone() Config {
	c.Storage.Endpoints = slices.Clone(c.Storage.Endpoints)
	c.Security.AllowedMIMETypes = slices.Clone(c.Security.AllowedMIMETypes)
	return c
}
