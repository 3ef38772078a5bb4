package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Limits Validate enforces.
const (
	// raftPortOffset is how far above its API port a node puts Raft when
	// cluster.raft_port is 0, so a node needs one port setting, not two.
	raftPortOffset = 1000

	// MinJWTSecretBytes is the shortest JWT secret accepted. HS256 uses a
	// 256-bit key; a shorter secret weakens every token signed with it.
	MinJWTSecretBytes = 32

	maxPackSizeMB   = 4096
	maxFileSizeMB   = 1 << 20 // 1 TiB
	maxHostNameLen  = 253
	maxHostLabelLen = 63
)

// logLevels maps service.log_level to slog levels.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

var (
	// idPattern bounds endpoint and node IDs: they appear in file names,
	// metric labels and log lines, so they stay short and plain.
	idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

	// bucketPattern is the S3 bucket naming rule: 3 to 63 lowercase
	// letters, digits, dots and hyphens, starting and ending alphanumeric.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

	// hostLabel is one label of a DNS host name.
	hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
)

// Validate checks every setting and the rules between settings. It returns
// nil, or an error wrapping a *ValidationError that lists every problem,
// each a *FieldError matching ErrInvalid and naming its key path.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// validate is Validate without the package prefix on the message.
func (c Config) validate() error {
	var p problems
	c.Service.validate(&p)
	c.Storage.validate(&p)
	c.Security.validate(&p, c.Service.Environment)
	c.validateCluster(&p)
	return p.err()
}

// problems collects the findings of one Validate call.
type problems struct {
	list []*FieldError
}

// add records that the value at path is invalid for the given reason.
func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, &FieldError{
		Path:   path,
		Reason: fmt.Sprintf(format, args...),
		Err:    ErrInvalid,
	})
}

// err returns the findings as one error, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Fields: p.list}
}

func (s Service) validate(p *problems) {
	checkPort(p, "service.port", s.Port)
	if s.PortRange != [2]int{} {
		checkPort(p, "service.port_range[0]", s.PortRange[0])
		checkPort(p, "service.port_range[1]", s.PortRange[1])
		if s.PortRange[0] > s.PortRange[1] {
			p.add("service.port_range", "must be ordered low to high, got [%d, %d]",
				s.PortRange[0], s.PortRange[1])
		}
	}

	checkOneOf(p, "service.environment", s.Environment, Development, Staging, Production)
	if !validHost(s.Bind) {
		p.add("service.bind", "must be an IP address or host name, got %q", s.Bind)
	}
	switch addr, err := netip.ParseAddr(s.Advertise); {
	case s.Advertise == "":
	case err == nil && addr.IsUnspecified():
		p.add("service.advertise", "must be an address other nodes can reach, got %q",
			s.Advertise)
	case !validHost(s.Advertise):
		p.add("service.advertise", "must be an IP address or host name without a port, got %q",
			s.Advertise)
	}
	if _, ok := logLevels[s.LogLevel]; !ok {
		p.add("service.log_level", "must be one of debug, info, warn, error, got %q",
			s.LogLevel)
	}
}

func (s Storage) validate(p *problems) {
	firstAt := make(map[string]int, len(s.Endpoints))
	var primaries []string
	for i, e := range s.Endpoints {
		path := fmt.Sprintf("storage.endpoints[%d]", i)
		e.validate(p, path)
		if j, dup := firstAt[e.ID]; dup && e.ID != "" {
			p.add(path+".id", "duplicate id %q, also at storage.endpoints[%d]", e.ID, j)
		} else {
			firstAt[e.ID] = i
		}
		if e.Type == Local && e.Role == Primary {
			primaries = append(primaries, path)
		}
	}
	if len(primaries) != 1 {
		found := "none"
		if len(primaries) > 1 {
			found = strings.Join(primaries, ", ")
		}
		p.add("storage.endpoints",
			"must hold exactly one endpoint of type local and role primary, found %s", found)
	}

	if s.GCGrace <= 0 {
		p.add("storage.gc_grace", "must be positive, got %s", s.GCGrace)
	}
	if s.GCInterval <= 0 {
		p.add("storage.gc_interval", "must be positive, got %s", s.GCInterval)
	}
	checkRange(p, "storage.pack_size_mb", s.PackSizeMB, 1, maxPackSizeMB)
}

func (s Security) validate(p *problems, env Environment) {
	switch {
	case len(s.JWTSecret) < MinJWTSecretBytes:
		p.add("security.jwt_secret", "must be at least %d bytes, got %d",
			MinJWTSecretBytes, len(s.JWTSecret))
	case env == Production && s.JWTSecret == DevelopmentJWTSecret:
		p.add("security.jwt_secret",
			"must be set in production: the embedded development secret is public")
	}
	checkRange(p, "security.max_file_size_mb", s.MaxFileSizeMB, 1, maxFileSizeMB)

	for i, m := range s.AllowedMIMETypes {
		path := fmt.Sprintf("security.allowed_mime_types[%d]", i)
		if !validMediaType(m) {
			p.add(path, `must be a lowercase media type "type/subtype" without `+
				`parameters or wildcards, got %q`, m)
		} else if j := slices.Index(s.AllowedMIMETypes, m); j < i {
			p.add(path, "duplicate %q, also at security.allowed_mime_types[%d]", m, j)
		}
	}
}

func (c Config) validateCluster(p *problems) {
	if id := c.Cluster.NodeID; id != "" && !idPattern.MatchString(id) {
		p.add("cluster.node_id", "must be empty or 1-64 letters, digits, '.', '_' or '-' "+
			"starting with a letter or digit, got %q", id)
	}

	c.validateMembership(p)
	raft := c.Cluster.RaftPort
	if raft != 0 {
		checkPort(p, "cluster.raft_port", raft)
		if c.Service.mayBind(raft) {
			p.add("cluster.raft_port", "%d is a port the API may bind", raft)
		}
		return
	}

	// Raft will listen raftPortOffset above whichever API port is bound.
	port := c.Service.Port
	if port < 1 || port > 65535 {
		return // reported under service.port
	}
	switch hi := c.Service.PortRange[1]; {
	case max(port, hi)+raftPortOffset > 65535:
		p.add("cluster.raft_port", "0 means API port + %d, up to %d, which is not a port; "+
			"set it explicitly", raftPortOffset, max(port, hi)+raftPortOffset)
	case c.Service.derivedRaftCollides():
		p.add("cluster.raft_port", "0 means API port + %d, which may be another API "+
			"port; set it explicitly or move service.port_range", raftPortOffset)
	}
}

// gossipPortOffset: when cluster.gossip_port is 0, gossip listens this far
// above the bound API port.
const gossipPortOffset = 2000

// validateMembership checks the cluster keys beyond node id and Raft port.
func (c Config) validateMembership(p *problems) {
	cl := c.Cluster
	if g := cl.GossipPort; g != 0 {
		checkPort(p, "cluster.gossip_port", g)
		if c.Service.mayBind(g) || g == cl.RaftPort {
			p.add("cluster.gossip_port", "%d is a port the API or Raft may bind", g)
		}
	} else if hi := max(c.Service.Port, c.Service.PortRange[1]); hi <= 65535 &&
		hi+gossipPortOffset > 65535 {
		p.add("cluster.gossip_port", "0 means API port + %d, up to %d, which is not a port; "+
			"set it explicitly", gossipPortOffset, hi+gossipPortOffset)
	}
	for i, addr := range cl.Join {
		if strings.TrimSpace(addr) == "" {
			p.add(fmt.Sprintf("cluster.join[%d]", i), "must be host:port or http://host:port")
		}
	}
	checkRange(p, "cluster.weight", cl.Weight, 0, 1_000_000)
	checkRange(p, "cluster.replicas", cl.Replicas, 0, 16)
	if cl.DownOutInterval.Duration() <= 0 {
		p.add("cluster.down_out_interval", "must be positive, got %s", cl.DownOutInterval)
	}
	if cl.RebalanceInterval.Duration() <= 0 {
		p.add("cluster.rebalance_interval", "must be positive, got %s", cl.RebalanceInterval)
	}
}

// derivedRaftCollides reports whether some port the API may bind, plus
// raftPortOffset, is also a port the API may bind, so that two nodes
// sharing a host could take each other's Raft port.
func (s Service) derivedRaftCollides() bool {
	lo, hi := s.PortRange[0], s.PortRange[1]
	if lo == 0 {
		return false // the API binds service.port only
	}
	inRange := func(port int) bool { return lo <= port && port <= hi }
	return hi-lo >= raftPortOffset ||
		inRange(s.Port+raftPortOffset) || inRange(s.Port-raftPortOffset)
}

// mayBind reports whether the API may listen on port: it is service.port
// or inside service.port_range.
func (s Service) mayBind(port int) bool {
	lo, hi := s.PortRange[0], s.PortRange[1]
	return port == s.Port || lo != 0 && lo <= port && port <= hi
}

// checkPort records a problem unless port is 1-65535.
func checkPort(p *problems, path string, port int) {
	checkRange(p, path, port, 1, 65535)
}

// checkRange records a problem unless lo <= v <= hi.
func checkRange(p *problems, path string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(path, "must be %d-%d, got %d", lo, hi, v)
	}
}

// checkOneOf records a problem unless v is one of allowed.
func checkOneOf[T ~string](p *problems, path string, v T, allowed ...T) {
	if slices.Contains(allowed, v) {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	p.add(path, "must be one of %s, got %q", strings.Join(names, ", "), v)
}

// validHost reports whether h is an IP address or a DNS host name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > maxHostNameLen {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if len(label) > maxHostLabelLen || !hostLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// validMediaType reports whether m is "type/subtype" in lower case, with
// no parameters and no wildcard, as content sniffing reports types.
func validMediaType(m string) bool {
	typ, sub, ok := strings.Cut(m, "/")
	return ok && validToken(typ) && validToken(sub)
}

// validToken reports whether s is a non-empty lowercase media type token
// (RFC 6838 restricted names: letters, digits and !#$&-^_.+).
func validToken(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$&-^_.+", r)
		if !ok {
			return false
		}
	}
	return true
}
